#include "kvm_vm.hpp"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "guest_programs.hpp"

namespace kq {

KvmError ErrnoError(const std::string& what) { return KvmError(what + ": " + strerror(errno)); }

UniqueFd& UniqueFd::operator=(UniqueFd&& o) noexcept {
  if (this != &o) {
    Reset();
    fd_ = o.fd_;
    o.fd_ = -1;
  }
  return *this;
}

void UniqueFd::Reset() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
}

void UniqueFd::ReplaceWith(int other_fd) {
  if (fd_ >= 0 && dup3(other_fd, fd_, O_CLOEXEC) < 0) throw ErrnoError("dup3");
}

Mapping& Mapping::operator=(Mapping&& o) noexcept {
  if (this != &o) {
    Reset();
    addr_ = o.addr_;
    len_ = o.len_;
    o.addr_ = nullptr;
  }
  return *this;
}

void Mapping::Reset() {
  if (addr_ != nullptr) munmap(addr_, len_);
  addr_ = nullptr;
}

void Mapping::ReplaceWithAnonymous() {
  if (addr_ == nullptr) return;
  if (mmap(addr_, len_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) ==
      MAP_FAILED) {
    throw ErrnoError("mmap over kvm_run");
  }
}

Kvm::Kvm() : fd_(open("/dev/kvm", O_RDWR | O_CLOEXEC)) {
  if (fd_.get() < 0) throw ErrnoError("open /dev/kvm");
  const int api = ioctl(fd_.get(), KVM_GET_API_VERSION, 0);
  if (api < 0) throw ErrnoError("KVM_GET_API_VERSION");
  if (api != KVM_API_VERSION) {
    throw KvmError("KVM_GET_API_VERSION: " + std::to_string(api) + ", expected " +
                   std::to_string(KVM_API_VERSION));
  }
  const int size = ioctl(fd_.get(), KVM_GET_VCPU_MMAP_SIZE, 0);
  if (size < 0) throw ErrnoError("KVM_GET_VCPU_MMAP_SIZE");
  if (static_cast<size_t>(size) < sizeof(kvm_run)) {
    throw KvmError("KVM_GET_VCPU_MMAP_SIZE: " + std::to_string(size) + " is too small");
  }
  vcpu_mmap_size_ = static_cast<size_t>(size);
}

Vcpu::Vcpu(const Kvm& kvm, int vm_fd, int index, uint32_t code_gpa)
    : fd_(ioctl(vm_fd, KVM_CREATE_VCPU, index)), index_(index) {
  if (fd_.get() < 0) throw ErrnoError("KVM_CREATE_VCPU");
  void* run = mmap(nullptr, kvm.vcpu_mmap_size(), PROT_READ | PROT_WRITE, MAP_SHARED, fd_.get(), 0);
  if (run == MAP_FAILED) throw ErrnoError("mmap kvm_run");
  run_map_ = Mapping(run, kvm.vcpu_mmap_size());

  kvm_sregs sregs{};
  if (ioctl(fd_.get(), KVM_GET_SREGS, &sregs) < 0) throw ErrnoError("KVM_GET_SREGS");
  sregs.cs.base = 0;
  sregs.cs.selector = 0;
  if (ioctl(fd_.get(), KVM_SET_SREGS, &sregs) < 0) throw ErrnoError("KVM_SET_SREGS");

  kvm_regs regs{};
  regs.rip = code_gpa;
  regs.rflags = 0x2;  // reserved bit 1; IF = 0
  if (ioctl(fd_.get(), KVM_SET_REGS, &regs) < 0) throw ErrnoError("KVM_SET_REGS");
}

kvm_regs Vcpu::GetRegs() const {
  kvm_regs regs{};
  if (ioctl(fd_.get(), KVM_GET_REGS, &regs) < 0) throw ErrnoError("KVM_GET_REGS");
  return regs;
}

void Vcpu::Detach(int devnull_fd) {
  detached_.store(true);
  run_map_.ReplaceWithAnonymous();
  fd_.ReplaceWith(devnull_fd);
}

void Vm::Detach(int devnull_fd) {
  for (auto& v : vcpus_) v->Detach(devnull_fd);
  fd_.ReplaceWith(devnull_fd);
}

Vm::Vm(const Kvm& kvm, int index, const std::vector<std::vector<uint8_t>>& programs, bool irqchip)
    : index_(index) {
  void* mem = mmap(nullptr, kMemSize, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (mem == MAP_FAILED) throw ErrnoError("mmap guest memory");
  mem_ = Mapping(mem, kMemSize);

  fd_ = UniqueFd(ioctl(kvm.fd(), KVM_CREATE_VM, 0));
  if (fd_.get() < 0) throw ErrnoError("KVM_CREATE_VM");
  if (ioctl(fd_.get(), KVM_SET_TSS_ADDR, kTssAddr) < 0) throw ErrnoError("KVM_SET_TSS_ADDR");

  kvm_userspace_memory_region region{};
  region.slot = 0;
  region.guest_phys_addr = 0;
  region.memory_size = kMemSize;
  region.userspace_addr = reinterpret_cast<uint64_t>(mem);
  if (ioctl(fd_.get(), KVM_SET_USER_MEMORY_REGION, &region) < 0) {
    throw ErrnoError("KVM_SET_USER_MEMORY_REGION");
  }
  // PIC, IOAPIC and a LAPIC per vCPU in KVM; must precede the vCPUs.
  if (irqchip && ioctl(fd_.get(), KVM_CREATE_IRQCHIP, 0) < 0) {
    throw ErrnoError("KVM_CREATE_IRQCHIP");
  }

  for (size_t i = 0; i < programs.size(); ++i) {
    const uint32_t gpa = kCodeBase + static_cast<uint32_t>(i) * kCodeStride;
    if (programs[i].size() > kCodeStride || gpa + kCodeStride > 0x10000) {
      throw KvmError("guest program " + std::to_string(i) + " does not fit its code area");
    }
    memcpy(mem_.data() + gpa, programs[i].data(), programs[i].size());
    vcpus_.push_back(std::make_unique<Vcpu>(kvm, fd_.get(), static_cast<int>(i), gpa));
    if (irqchip && i > 0) {
      // With an in-kernel LAPIC the APs wait for INIT/SIPI; start them at their code instead.
      kvm_mp_state mp{KVM_MP_STATE_RUNNABLE};
      if (ioctl(vcpus_.back()->fd(), KVM_SET_MP_STATE, &mp) < 0) {
        throw ErrnoError("KVM_SET_MP_STATE");
      }
    }
  }
}

}  // namespace kq
