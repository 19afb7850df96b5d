// Guest programs, hand-assembled for 16-bit real mode (0x66 = operand-size prefix, so the
// counters are 32-bit and N up to 2^31 works).
//
// Conventions shared by all programs:
//   ESI  the guest's own iteration counter, counting up from 0 (the VMM reads it at the end with
//        KVM_GET_REGS and compares it with what it saw).
//   ports kDataPort (byte outs of io/iostorm), kDonePort (one 4-byte out with ESI when a finite
//        loop finished), kTickPort (4-byte out with ESI, periodic, compute/cpuidstorm).
// Userspace exits per program (no in-kernel irqchip, so every hlt exits to userspace):
//   io:N          N io exits on kDataPort, then 1 hlt exit (final).          ESI = N
//   cpuid:N       N CPUIDs in KVM (no userspace exit), 1 io exit on kDonePort, 1 hlt exit.  ESI = N
//   hlt:N         N hlt exits in the loop, 1 io exit on kDonePort, 1 final hlt exit
//                 (N + 1 hlt exits in total).                                ESI = N
//   compute:MS[:ITERS]  1 io exit on kTickPort every ITERS loop iterations, endless; the VMM stops
//                 at the first tick after MS ms.                             ESI = ticks
//   iostorm:MS    endless io exits on kDataPort; the VMM stops at the first one after MS ms.
//                                                                            ESI = io exits
//   cpuidstorm:MS[:PER]  endless CPUIDs, 1 io exit on kTickPort every PER CPUIDs; stop at the first
//                 tick after MS ms.                                          ESI = CPUIDs
//   duty:MS[:ITERS]  compute's guest code (default ITERS kDefaultDutyIters); at the first tick
//                 after kDutyRunMs of a cycle the VMM thread sleeps kDutySleepMs outside KVM_RUN:
//                 a vCPU runnable half the time, the rest asleep in its VMM.   ESI = ticks
//   irq:MS[:MINUS:MAXUS]  in-kernel irqchip (hlt and the PIC ports stay in KVM): programs the PIC,
//                 installs its handler, then sti and hlt forever. Each interrupt: 1 io exit on
//                 kAnswerPort (value = ESI), then EOI and iret. The injector stops the vCPU after
//                 MS ms with a signal (KVM_RUN fails with EINTR).     ESI = interrupts answered
#include "guest_programs.hpp"

#include <charconv>

namespace kq {
namespace {

// A tiny emitter: one function per instruction form used, with the bytes spelled out.
class Asm {
 public:
  size_t Here() const { return code_.size(); }
  std::vector<uint8_t> Take() { return std::move(code_); }

  void XorEsiEsi() { Emit({0x66, 0x31, 0xF6}); }  // xor esi, esi  (31 /r, modrm 11 110 110)
  void XorEbxEbx() { Emit({0x66, 0x31, 0xDB}); }  // xor ebx, ebx  (31 /r, modrm 11 011 011)
  void XorEaxEax() { Emit({0x66, 0x31, 0xC0}); }  // xor eax, eax  (31 /r, modrm 11 000 000)
  void MovEcxImm32(uint32_t v) {
    Emit({0x66, 0xB9});
    Imm32(v);
  }  // mov ecx, imm32 (B8+1)
  void MovEdiImm32(uint32_t v) {
    Emit({0x66, 0xBF});
    Imm32(v);
  }                              // mov edi, imm32 (B8+7)
  void MovDxImm16(uint16_t v) {  // mov dx, imm16 (B8+2, 16-bit operand in real mode)
    Emit({0xBA, static_cast<uint8_t>(v), static_cast<uint8_t>(v >> 8)});
  }
  void MovAlImm8(uint8_t v) { Emit({0xB0, v}); }  // mov al, imm8
  void MovEaxEsi() { Emit({0x66, 0x89, 0xF0}); }  // mov eax, esi  (89 /r, modrm 11 110 000)
  void AddEbxEcx() { Emit({0x66, 0x01, 0xCB}); }  // add ebx, ecx  (01 /r, modrm 11 001 011)
  void RolEbx1() { Emit({0x66, 0xD1, 0xC3}); }    // rol ebx, 1    (D1 /0, modrm 11 000 011)
  void IncEsi() { Emit({0x66, 0x46}); }           // inc esi       (40+6)
  void DecEcx() { Emit({0x66, 0x49}); }           // dec ecx       (48+1)
  void DecEdi() { Emit({0x66, 0x4F}); }           // dec edi       (48+7)
  void Cpuid() { Emit({0x0F, 0xA2}); }            // cpuid
  void OutDxAl() { Emit({0xEE}); }                // out dx, al    (1 byte)
  void OutDxEax() { Emit({0x66, 0xEF}); }         // out dx, eax   (4 bytes)
  void Hlt() { Emit({0xF4}); }                    // hlt
  void Jnz(size_t target) { Emit({0x75, Rel8(target)}); }  // jnz rel8
  void Jmp(size_t target) { Emit({0xEB, Rel8(target)}); }  // jmp rel8
  // Forms only the irq program uses (16-bit operands unless prefixed).
  void XorAxAx() { Emit({0x31, 0xC0}); }                       // xor ax, ax
  void MovDsAx() { Emit({0x8E, 0xD8}); }                       // mov ds, ax (8E /r, reg 011)
  void MovSsAx() { Emit({0x8E, 0xD0}); }                       // mov ss, ax (8E /r, reg 010)
  void MovSpImm16(uint16_t v) { Emit({0xBC, Lo(v), Hi(v)}); }  // mov sp, imm16 (B8+4)
  void OutImm8Al(uint8_t port) { Emit({0xE6, port}); }         // out imm8, al
  void CallNext() { Emit({0xE8, 0x00, 0x00}); }  // call rel16 0: pushes the next address
  void PopBx() { Emit({0x5B}); }                 // pop bx (58+3)
  void AddBxImm8(int8_t v) { Emit({0x83, 0xC3, static_cast<uint8_t>(v)}); }  // 83 /0 ib
  void MovMemImm16(uint16_t addr, uint16_t v) {  // mov word [addr], imm16 (C7 /0, modrm 00 000 110)
    Emit({0xC7, 0x06, Lo(addr), Hi(addr), Lo(v), Hi(v)});
  }
  void MovMemBx(uint16_t addr) { Emit({0x89, 0x1E, Lo(addr), Hi(addr)}); }  // mov [addr], bx
  void Sti() { Emit({0xFB}); }
  void Iret() { Emit({0xCF}); }
  void Patch8(size_t at, uint8_t v) { code_.at(at) = v; }

 private:
  void Emit(std::initializer_list<uint8_t> bytes) { code_.insert(code_.end(), bytes); }
  void Imm32(uint32_t v) {
    for (int i = 0; i < 4; ++i) code_.push_back(static_cast<uint8_t>(v >> (8 * i)));
  }
  // rel8 of a 2-byte jump emitted at Here(): target - (address after the jump).
  uint8_t Rel8(size_t target) const {
    const long rel = static_cast<long>(target) - static_cast<long>(Here() + 2);
    return static_cast<uint8_t>(static_cast<int8_t>(rel));
  }
  static uint8_t Lo(uint16_t v) { return static_cast<uint8_t>(v); }
  static uint8_t Hi(uint16_t v) { return static_cast<uint8_t>(v >> 8); }
  std::vector<uint8_t> code_;
};

std::vector<uint8_t> EncodeIo(uint32_t n) {
  Asm a;
  a.XorEsiEsi();     // 0: esi = 0
  a.MovEcxImm32(n);  // 3: ecx = N   (immediate at offset 5)
  a.MovDxImm16(kDataPort);
  a.MovAlImm8(kDataByte);
  const size_t loop = a.Here();
  a.IncEsi();   // loop: esi++
  a.OutDxAl();  //   out kDataPort, al    -> KVM_EXIT_IO (1 byte)
  a.DecEcx();   //   ecx--
  a.Jnz(loop);  //   while ecx != 0
  a.Hlt();      // final hlt               -> KVM_EXIT_HLT, VMM stops
  return a.Take();
}

// cpuid:N and hlt:N share this shape: a loop of N bodies counted in EDI, then report ESI.
std::vector<uint8_t> EncodeCountedLoop(uint32_t n, bool hlt_body) {
  Asm a;
  a.XorEsiEsi();     // 0: esi = 0
  a.MovEdiImm32(n);  // 3: edi = N   (immediate at offset 5)
  const size_t loop = a.Here();
  if (hlt_body) {
    a.Hlt();  // loop: hlt               -> KVM_EXIT_HLT, VMM re-enters
  } else {
    a.XorEaxEax();  // loop: eax = 0 (leaf 0)
    a.Cpuid();      //   cpuid                 (handled in KVM; clobbers eax/ebx/ecx/edx)
  }
  a.IncEsi();   //   esi++
  a.DecEdi();   //   edi--
  a.Jnz(loop);  //   while edi != 0
  a.MovDxImm16(kDonePort);
  a.MovEaxEsi();  // eax = esi (= N)
  a.OutDxEax();   // out kDonePort, eax      -> KVM_EXIT_IO (4 bytes)
  a.Hlt();        // final hlt               -> KVM_EXIT_HLT, VMM stops
  return a.Take();
}

std::vector<uint8_t> EncodeCompute(uint32_t iters) {
  Asm a;
  a.XorEsiEsi();            // 0: esi = 0 (ticks)
  a.XorEbxEbx();            // 3: ebx = 0 (arithmetic accumulator)
  a.MovDxImm16(kTickPort);  // 6: dx = tick port (nothing in the loop clobbers it)
  const size_t outer = a.Here();
  a.MovEcxImm32(iters);  // outer (9): ecx = ITERS (immediate at offset 11)
  const size_t inner = a.Here();
  a.AddEbxEcx();  // inner: ebx += ecx
  a.RolEbx1();    //   ebx = rol(ebx, 1)
  a.DecEcx();     //   ecx--
  a.Jnz(inner);   //   while ecx != 0
  a.IncEsi();     // esi++ (ticks)
  a.MovEaxEsi();  // eax = esi
  a.OutDxEax();   // out kTickPort, eax      -> KVM_EXIT_IO (4 bytes)
  a.Jmp(outer);   // forever
  return a.Take();
}

std::vector<uint8_t> EncodeIoStorm() {
  Asm a;
  a.XorEsiEsi();  // 0: esi = 0
  a.MovDxImm16(kDataPort);
  a.MovAlImm8(kDataByte);
  const size_t loop = a.Here();
  a.IncEsi();   // loop: esi++
  a.OutDxAl();  //   out kDataPort, al    -> KVM_EXIT_IO (1 byte)
  a.Jmp(loop);  //   forever
  return a.Take();
}

std::vector<uint8_t> EncodeCpuidStorm(uint32_t per_tick) {
  Asm a;
  a.XorEsiEsi();  // 0: esi = 0 (CPUIDs)
  const size_t outer = a.Here();
  a.MovEdiImm32(per_tick);  // outer (3): edi = PER (immediate at offset 5)
  const size_t inner = a.Here();
  a.XorEaxEax();            // inner: eax = 0
  a.Cpuid();                //   cpuid                 (handled in KVM)
  a.IncEsi();               //   esi++
  a.DecEdi();               //   edi--
  a.Jnz(inner);             //   while edi != 0
  a.MovDxImm16(kTickPort);  // dx = tick port (cpuid clobbered edx)
  a.MovEaxEsi();            // eax = esi
  a.OutDxEax();             // out kTickPort, eax      -> KVM_EXIT_IO (4 bytes)
  a.Jmp(outer);             // forever
  return a.Take();
}

// Registers: ESI counts interrupts; the handler clobbers EAX, DX and the main loop keeps nothing
// in registers, so the handler saves nothing.
std::vector<uint8_t> EncodeIrq(size_t* handler_offset) {
  Asm a;
  a.XorEsiEsi();  // esi = 0 (interrupts answered)
  a.XorAxAx();
  a.MovDsAx();  // ds = 0: the IVT is addressed from it
  a.MovSsAx();  // ss = 0, sp below the code: room for the call and interrupt frames
  a.MovSpImm16(kIrqStackTop);
  // Master PIC: ICW1 edge + ICW4 needed, ICW2 vector base, ICW3 slave on IRQ2, ICW4 8086 mode.
  for (const auto& [port, value] : {std::pair<uint8_t, uint8_t>{0x20, 0x11},
                                    {0x21, kIrqVectorBase},
                                    {0x21, 0x04},
                                    {0x21, 0x01},
                                    {0x21, static_cast<uint8_t>(~(1u << kIrqLine))},  // OCW1
                                    {0xA1, 0xFF}}) {  // slave: everything masked
    a.MovAlImm8(value);
    a.OutImm8Al(port);
  }
  a.CallNext();  // position independent: bx = address of `next`
  const size_t next = a.Here();
  a.PopBx();
  const size_t add = a.Here();
  a.AddBxImm8(0);                      // patched below: bx += handler - next
  a.MovMemImm16(kIrqIvtEntry + 2, 0);  // IVT segment first ...
  a.MovMemBx(kIrqIvtEntry);            // ... the offset last: the injector waits for it
  a.Sti();
  const size_t idle = a.Here();
  a.Hlt();  // idle: hlt (in KVM)
  a.Jmp(idle);
  const size_t handler = a.Here();
  a.IncEsi();  // handler: esi++
  a.MovDxImm16(kAnswerPort);
  a.MovEaxEsi();
  a.OutDxEax();  // out kAnswerPort, eax    -> KVM_EXIT_IO (4 bytes), the answer
  a.MovAlImm8(0x20);
  a.OutImm8Al(0x20);  // non-specific EOI to the master PIC (in KVM)
  a.Iret();
  a.Patch8(add + 2, static_cast<uint8_t>(static_cast<int8_t>(handler - next)));
  *handler_offset = handler;
  return a.Take();
}

}  // namespace

bool ProgramSpec::Timed() const {
  return kind == ProgramKind::kCompute || kind == ProgramKind::kIoStorm ||
         kind == ProgramKind::kCpuidStorm || kind == ProgramKind::kDuty ||
         kind == ProgramKind::kIrq;
}

bool NeverHalts(ProgramKind kind) {
  return kind == ProgramKind::kCompute || kind == ProgramKind::kIoStorm ||
         kind == ProgramKind::kCpuidStorm || kind == ProgramKind::kDuty;
}

size_t IrqHandlerOffset() {
  size_t offset = 0;
  EncodeIrq(&offset);
  return offset;
}

std::optional<uint32_t> ParseNumber(std::string_view text) {
  if (text.empty() || text.size() > 10) return std::nullopt;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  uint64_t value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size()) return std::nullopt;
  if (value < 1 || value > kMaxNumber) return std::nullopt;
  return static_cast<uint32_t>(value);
}

namespace {

// irq:MS or irq:MS:MINUS:MAXUS (rest is what follows "irq:").
template <typename Fail>
std::optional<ProgramSpec> ParseIrq(std::string_view text, std::string_view rest,
                                    const std::string& range, Fail& fail) {
  std::vector<std::string_view> fields;
  for (size_t start = 0;;) {
    const size_t colon = rest.find(':', start);
    fields.push_back(rest.substr(start, colon == std::string_view::npos ? colon : colon - start));
    if (colon == std::string_view::npos) break;
    start = colon + 1;
  }
  if (fields.size() != 1 && fields.size() != 3) {
    return fail("expected irq:MS or irq:MS:MINUS:MAXUS");
  }
  uint32_t numbers[3] = {0, kDefaultIrqMinUs, kDefaultIrqMaxUs};
  for (size_t i = 0; i < fields.size(); ++i) {
    auto n = ParseNumber(fields[i]);
    if (!n) return fail("bad number '" + std::string(fields[i]) + "'" + range);
    numbers[i] = *n;
  }
  if (numbers[1] > numbers[2]) {
    return fail("MINUS " + std::to_string(numbers[1]) + " > MAXUS " + std::to_string(numbers[2]));
  }
  ProgramSpec spec;
  spec.kind = ProgramKind::kIrq;
  spec.text = std::string(text);
  spec.count = numbers[0];
  spec.min_us = numbers[1];
  spec.max_us = numbers[2];
  return spec;
}

}  // namespace

std::optional<ProgramSpec> ParseProgram(std::string_view text, std::string* error) {
  struct Known {
    std::string_view name;
    ProgramKind kind;
    uint32_t default_per_tick;  // 0: no third field allowed
  };
  static constexpr Known kKnown[] = {
      {"io", ProgramKind::kIo, 0},
      {"cpuid", ProgramKind::kCpuid, 0},
      {"hlt", ProgramKind::kHlt, 0},
      {"compute", ProgramKind::kCompute, kDefaultComputeIters},
      {"iostorm", ProgramKind::kIoStorm, 0},
      {"cpuidstorm", ProgramKind::kCpuidStorm, kDefaultCpuidPerTick},
      {"duty", ProgramKind::kDuty, kDefaultDutyIters},
      {"irq", ProgramKind::kIrq, 0},
  };
  auto fail = [&](const std::string& why) {
    *error = "bad program '" + std::string(text) + "': " + why;
    return std::nullopt;
  };
  if (text.empty()) return fail("empty program");
  const size_t colon = text.find(':');
  const std::string_view name = text.substr(0, colon);
  const Known* known = nullptr;
  for (const Known& k : kKnown) {
    if (k.name == name) known = &k;
  }
  if (known == nullptr) {
    return fail("unknown program '" + std::string(name) +
                "' (expected io, cpuid, hlt, compute, iostorm, cpuidstorm, duty or irq)");
  }
  if (colon == std::string_view::npos)
    return fail("missing number after '" + std::string(name) + ":'");
  std::string_view rest = text.substr(colon + 1);
  const std::string range = " (decimal 1.." + std::to_string(kMaxNumber) + ")";
  if (known->kind == ProgramKind::kIrq) return ParseIrq(text, rest, range, fail);
  std::string_view third;
  const size_t colon2 = rest.find(':');
  if (colon2 != std::string_view::npos) {
    if (known->default_per_tick == 0) return fail("too many ':' fields");
    third = rest.substr(colon2 + 1);
    rest = rest.substr(0, colon2);
  }
  ProgramSpec spec;
  spec.kind = known->kind;
  spec.text = std::string(text);
  auto count = ParseNumber(rest);
  if (!count) return fail("bad number '" + std::string(rest) + "'" + range);
  spec.count = *count;
  spec.per_tick = known->default_per_tick;
  if (colon2 != std::string_view::npos) {
    auto per = ParseNumber(third);
    if (!per) return fail("bad number '" + std::string(third) + "'" + range);
    spec.per_tick = *per;
  }
  return spec;
}

std::vector<uint8_t> EncodeProgram(const ProgramSpec& spec) {
  switch (spec.kind) {
    case ProgramKind::kIo:
      return EncodeIo(spec.count);
    case ProgramKind::kCpuid:
      return EncodeCountedLoop(spec.count, /*hlt_body=*/false);
    case ProgramKind::kHlt:
      return EncodeCountedLoop(spec.count, /*hlt_body=*/true);
    case ProgramKind::kCompute:
    case ProgramKind::kDuty:
      return EncodeCompute(spec.per_tick);
    case ProgramKind::kIoStorm:
      return EncodeIoStorm();
    case ProgramKind::kCpuidStorm:
      return EncodeCpuidStorm(spec.per_tick);
    case ProgramKind::kIrq: {
      size_t handler = 0;
      return EncodeIrq(&handler);
    }
  }
  return {};
}

std::optional<size_t> ImmediateOffset(ProgramKind kind) {
  switch (kind) {
    case ProgramKind::kIo:
    case ProgramKind::kCpuid:
    case ProgramKind::kHlt:
    case ProgramKind::kCpuidStorm:
      return 5;
    case ProgramKind::kCompute:
    case ProgramKind::kDuty:
      return 11;
    case ProgramKind::kIoStorm:
    case ProgramKind::kIrq:
      return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace kq
