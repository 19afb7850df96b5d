// Test helper: an independent interpreter for exactly the 16-bit real-mode instructions the
// guest programs use, so tests can check that the hand-assembled bytes (jump offsets, operand
// sizes, registers) do what the program descriptions say. Unknown opcodes are reported.
// Memory is one 64 KiB real-mode segment (every segment register must be 0); the code is
// loaded at load_addr and IP must stay inside it. Interrupt() delivers an external interrupt
// through the IVT as a real-mode CPU does (push FLAGS, CS, IP; clear IF).
#pragma once

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace kq::testing {

struct SimEvent {
  enum Kind { kOut, kHlt, kCpuid, kIret } kind;
  uint16_t port = 0;
  uint8_t size = 0;
  uint32_t value = 0;
};

class X86Sim {
 public:
  enum Reg { kEax, kEcx, kEdx, kEbx, kEsp, kEbp, kEsi, kEdi };

  explicit X86Sim(const std::vector<uint8_t>& code, uint16_t load_addr = 0)
      : mem_(0x10000, 0),
        code_begin_(load_addr),
        code_end_(load_addr + code.size()),
        ip_(load_addr) {
    if (code_end_ > mem_.size()) throw std::runtime_error("code does not fit the segment");
    std::copy(code.begin(), code.end(), mem_.begin() + load_addr);
    for (uint32_t& r : regs_) r = 0xDEADBEEF;  // garbage: programs must initialise what they use
  }

  uint32_t reg(Reg r) const { return regs_[r]; }
  size_t ip() const { return ip_; }
  uint64_t instructions() const { return instructions_; }
  bool interrupts_enabled() const { return if_; }
  uint16_t word(uint16_t addr) const { return mem_[addr] | mem_[uint16_t(addr + 1)] << 8; }

  // An external interrupt taken now (between instructions, e.g. after a hlt event).
  void Interrupt(uint8_t vector) {
    if (!if_) throw std::runtime_error("interrupt with IF = 0");
    Push(Flags());
    Push(0);  // CS
    Push(static_cast<uint16_t>(ip_));
    if_ = false;
    if (word(vector * 4 + 2) != 0) throw std::runtime_error("IVT segment != 0");
    ip_ = word(vector * 4);
  }

  // Executes instructions until one produces an event (out, hlt, cpuid, iret) and returns it.
  SimEvent Next() {
    while (true) {
      SimEvent ev{};
      if (Step(&ev)) return ev;
    }
  }

 private:
  uint8_t Fetch() {
    if (ip_ < code_begin_ || ip_ >= code_end_) {
      throw std::runtime_error("ip " + std::to_string(ip_) + " outside the program");
    }
    return mem_[ip_++];
  }
  uint16_t Fetch16() {
    const uint16_t lo = Fetch();
    return lo | uint16_t(Fetch() << 8);
  }
  void SetWord(uint16_t addr, uint16_t v) {
    mem_[addr] = static_cast<uint8_t>(v);
    mem_[uint16_t(addr + 1)] = static_cast<uint8_t>(v >> 8);
  }
  uint16_t Sp() const { return static_cast<uint16_t>(regs_[kEsp]); }
  void Push(uint16_t v) {
    Set(kEsp, Sp() - 2, false);
    SetWord(Sp(), v);
  }
  uint16_t Pop() {
    const uint16_t v = word(Sp());
    Set(kEsp, Sp() + 2, false);
    return v;
  }
  uint16_t Flags() const { return 0x2 | (zf_ ? 0x40 : 0) | (if_ ? 0x200 : 0); }
  uint32_t FetchImm(bool op32) {
    uint32_t v = Fetch();
    v |= uint32_t{Fetch()} << 8;
    if (op32) {
      v |= uint32_t{Fetch()} << 16;
      v |= uint32_t{Fetch()} << 24;
    }
    return v;
  }
  void Set(int r, uint32_t v, bool op32) {
    regs_[r] = op32 ? v : (regs_[r] & 0xFFFF0000u) | (v & 0xFFFF);
  }
  uint32_t Get(int r, bool op32) const { return op32 ? regs_[r] : regs_[r] & 0xFFFF; }
  void SetZf(uint32_t v, bool op32) { zf_ = (op32 ? v : (v & 0xFFFF)) == 0; }
  int RegRegModrm() {
    const uint8_t m = Fetch();
    if ((m >> 6) != 3) throw std::runtime_error("memory operand not supported");
    return m;
  }
  void Jump(int8_t rel) { ip_ = static_cast<size_t>(static_cast<long>(ip_) + rel); }
  void Jump16(int16_t rel) { ip_ = static_cast<uint16_t>(static_cast<long>(ip_) + rel); }

  bool Step(SimEvent* ev) {
    ++instructions_;
    bool op32 = false;
    uint8_t op = Fetch();
    if (op == 0x66) {
      op32 = true;
      op = Fetch();
    }
    if (op >= 0xB8 && op <= 0xBF) {  // mov r, imm
      Set(op - 0xB8, FetchImm(op32), op32);
      return false;
    }
    if (op >= 0xB0 && op <= 0xB3) {  // mov r8(low), imm8
      regs_[op - 0xB0] = (regs_[op - 0xB0] & ~0xFFu) | Fetch();
      return false;
    }
    if (op >= 0x40 && op <= 0x4F) {  // inc / dec r
      const int r = op & 7;
      const uint32_t v = Get(r, op32) + (op < 0x48 ? 1 : -1);
      Set(r, v, op32);
      SetZf(v, op32);
      return false;
    }
    switch (op) {
      case 0x31:    // xor r/m, r
      case 0x01:    // add r/m, r
      case 0x89: {  // mov r/m, r
        const int m = Fetch();
        if (op == 0x89 && !op32 && (m & 0xC7) == 0x06) {  // mov [disp16], r16
          SetWord(Fetch16(), static_cast<uint16_t>(regs_[(m >> 3) & 7]));
          return false;
        }
        if ((m >> 6) != 3) throw std::runtime_error("memory operand not supported");
        const int dst = m & 7, src = (m >> 3) & 7;
        uint32_t v = Get(src, op32);
        if (op == 0x31) v ^= Get(dst, op32);
        if (op == 0x01) v += Get(dst, op32);
        Set(dst, v, op32);
        if (op != 0x89) SetZf(v, op32);
        return false;
      }
      case 0xD1: {  // rol r/m, 1 (only /0)
        const int m = RegRegModrm();
        if (((m >> 3) & 7) != 0) throw std::runtime_error("D1 /n with n != 0");
        const uint32_t v = Get(m & 7, op32);
        Set(m & 7, op32 ? (v << 1) | (v >> 31) : ((v << 1) | (v >> 15)) & 0xFFFF, op32);
        return false;
      }
      case 0x75: {  // jnz rel8
        const int8_t rel = static_cast<int8_t>(Fetch());
        if (!zf_) Jump(rel);
        return false;
      }
      case 0xEB:  // jmp rel8
        Jump(static_cast<int8_t>(Fetch()));
        return false;
      case 0x83: {  // add r/m, imm8 (sign-extended; only /0, register form)
        const int m = RegRegModrm();
        if (((m >> 3) & 7) != 0) throw std::runtime_error("83 /n with n != 0");
        const uint32_t v = Get(m & 7, op32) + static_cast<uint32_t>(static_cast<int8_t>(Fetch()));
        Set(m & 7, v, op32);
        SetZf(v, op32);
        return false;
      }
      case 0x8E: {  // mov sreg, r16: only segment 0 is modelled
        const int m = RegRegModrm();
        const int sreg = (m >> 3) & 7;
        if ((sreg != 2 && sreg != 3) || (regs_[m & 7] & 0xFFFF) != 0) {
          throw std::runtime_error("mov sreg: only ss/ds = 0 supported");
        }
        return false;
      }
      case 0xC7: {  // mov word [disp16], imm16
        if (op32 || Fetch() != 0x06) throw std::runtime_error("C7: only mov word [disp16], imm16");
        const uint16_t addr = Fetch16();
        SetWord(addr, Fetch16());
        return false;
      }
      case 0xE8: {  // call rel16
        const int16_t rel = static_cast<int16_t>(Fetch16());
        Push(static_cast<uint16_t>(ip_));
        Jump16(rel);
        return false;
      }
      case 0x5B:  // pop bx
        Set(kEbx, Pop(), false);
        return false;
      case 0xFB:  // sti
        if_ = true;
        return false;
      case 0xFA:  // cli
        if_ = false;
        return false;
      case 0xCF: {  // iret
        ip_ = Pop();
        if (Pop() != 0) throw std::runtime_error("iret to CS != 0");
        const uint16_t flags = Pop();
        zf_ = flags & 0x40;
        if_ = flags & 0x200;
        *ev = {SimEvent::kIret, 0, 0, 0};
        return true;
      }
      case 0xE6:  // out imm8, al
        *ev = {SimEvent::kOut, Fetch(), 1, regs_[kEax] & 0xFF};
        return true;
      case 0xEE:  // out dx, al
        *ev = {SimEvent::kOut, static_cast<uint16_t>(regs_[kEdx]), 1, regs_[kEax] & 0xFF};
        return true;
      case 0xEF:  // out dx, ax / eax
        *ev = {SimEvent::kOut, static_cast<uint16_t>(regs_[kEdx]),
               static_cast<uint8_t>(op32 ? 4 : 2), op32 ? regs_[kEax] : regs_[kEax] & 0xFFFF};
        return true;
      case 0xF4:
        *ev = {SimEvent::kHlt, 0, 0, 0};
        return true;
      case 0x0F:
        if (Fetch() != 0xA2) break;
        // cpuid: clobber like a real CPU would (leaf 0 of some vendor).
        regs_[kEax] = 0x10;
        regs_[kEbx] = 0x68747541;
        regs_[kEcx] = 0x444D4163;
        regs_[kEdx] = 0x69746E65;
        *ev = {SimEvent::kCpuid, 0, 0, 0};
        return true;
      default:
        break;
    }
    throw std::runtime_error("unsupported opcode at ip " + std::to_string(ip_ - 1));
  }

  std::vector<uint8_t> mem_;
  size_t code_begin_, code_end_;
  size_t ip_;
  uint32_t regs_[8];
  bool zf_ = false;
  bool if_ = false;
  uint64_t instructions_ = 0;
};

}  // namespace kq::testing
