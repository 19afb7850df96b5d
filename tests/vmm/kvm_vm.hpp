// RAII wrappers for /dev/kvm, a VM (its memory) and a vCPU (its kvm_run mapping).
// Every failure throws KvmError with the ioctl or syscall name and strerror.
#pragma once

#include <linux/kvm.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace kq {

class KvmError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Builds "WHAT: strerror(errno)".
KvmError ErrnoError(const std::string& what);

class UniqueFd {
 public:
  explicit UniqueFd(int fd = -1) : fd_(fd) {}
  ~UniqueFd() { Reset(); }
  UniqueFd(UniqueFd&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  UniqueFd& operator=(UniqueFd&& o) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  int get() const { return fd_; }
  void Reset();
  // Points the fd number at other_fd's file (dup3), dropping this number's reference to its
  // file without freeing the number: a thread racing on the number meets other_fd's file.
  void ReplaceWith(int other_fd);

 private:
  int fd_;
};

class Mapping {
 public:
  Mapping() = default;
  Mapping(void* addr, size_t len) : addr_(addr), len_(len) {}
  ~Mapping() { Reset(); }
  Mapping(Mapping&& o) noexcept : addr_(o.addr_), len_(o.len_) { o.addr_ = nullptr; }
  Mapping& operator=(Mapping&& o) noexcept;
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  uint8_t* data() const { return static_cast<uint8_t*>(addr_); }
  size_t size() const { return len_; }
  void Reset();
  // Maps anonymous memory over the range (MAP_FIXED): the file's reference is dropped while
  // readers of the range keep reading (zeros) instead of faulting.
  void ReplaceWithAnonymous();

 private:
  void* addr_ = nullptr;
  size_t len_ = 0;
};

class Kvm {
 public:
  // Opens /dev/kvm and checks KVM_GET_API_VERSION == 12.
  Kvm();
  int fd() const { return fd_.get(); }
  size_t vcpu_mmap_size() const { return vcpu_mmap_size_; }

 private:
  UniqueFd fd_;
  size_t vcpu_mmap_size_ = 0;
};

class Vcpu {
 public:
  // KVM_CREATE_VCPU, mmap of kvm_run, real-mode registers with IP = code_gpa (CS base 0).
  Vcpu(const Kvm& kvm, int vm_fd, int index, uint32_t code_gpa);
  int fd() const { return fd_.get(); }
  int index() const { return index_; }
  kvm_run* run() const { return reinterpret_cast<kvm_run*>(run_map_.data()); }
  kvm_regs GetRegs() const;

  // Drops the process's references to the vCPU file (the kvm_run mapping, then the fd) while
  // another thread may be in KVM_RUN, whose own reference becomes the last one. detached()
  // turns true before anything is dropped: a runner that sees it true must treat whatever it
  // just read from kvm_run, or got from KVM_RUN, as the end.
  void Detach(int devnull_fd);
  bool detached() const { return detached_.load(); }

 private:
  UniqueFd fd_;
  Mapping run_map_;
  int index_;
  std::atomic<bool> detached_{false};
};

class Vm {
 public:
  static constexpr size_t kMemSize = 1 << 20;  // 1 MiB of guest RAM at GPA 0
  static constexpr uint64_t kTssAddr = 0xfffbd000;

  // KVM_CREATE_VM, KVM_SET_TSS_ADDR, KVM_SET_USER_MEMORY_REGION, with irqchip
  // KVM_CREATE_IRQCHIP, then one vCPU per program, each with its code copied to
  // kCodeBase + i * kCodeStride.
  Vm(const Kvm& kvm, int index, const std::vector<std::vector<uint8_t>>& programs,
     bool irqchip = false);
  int fd() const { return fd_.get(); }
  uint8_t* mem() const { return mem_.data(); }  // guest RAM, GPA 0 .. kMemSize
  int index() const { return index_; }
  std::vector<std::unique_ptr<Vcpu>>& vcpus() { return vcpus_; }
  // Detaches every vCPU, then drops the VM fd the same way (see Vcpu::Detach).
  void Detach(int devnull_fd);

 private:
  Mapping mem_;  // declared first: destroyed after the VM and vCPU fds
  UniqueFd fd_;
  std::vector<std::unique_ptr<Vcpu>> vcpus_;
  int index_;
};

}  // namespace kq
