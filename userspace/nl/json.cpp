// SPDX-License-Identifier: GPL-2.0
#include "json.hpp"

namespace kq::nl {

namespace {

class Obj {
 public:
  template <typename T>
  void Num(const char* key, const std::optional<T>& v) {
    if (v) Raw(key, std::to_string(*v));
  }
  template <typename T>
  void Num(const char* key, T v) {
    Raw(key, std::to_string(v));
  }
  void Raw(std::string_view key, const std::string& value) {
    s_ += first_ ? "{" : ",";
    first_ = false;
    s_ += '"';
    s_ += key;
    s_ += "\":";
    s_ += value;
  }
  std::string Done() { return first_ ? "{}" : s_ + "}"; }

 private:
  std::string s_;
  bool first_ = true;
};

}  // namespace

std::string VcpuJson(const VcpuSample& v) {
  Obj o;
  o.Num("vm_id", v.vm_id);
  o.Num("pid", v.pid);
  o.Num("vcpu_idx", v.vcpu_idx);
  o.Num("tid", v.tid);
  o.Num("cpu", v.cpu);
  o.Num("window_ns", v.window_ns);
  o.Num("guest_ns", v.guest_ns);
  o.Num("exits", v.exits);
  if (v.exit_kinds) {
    Obj k;
    for (size_t i = 0; i < kExitKinds; ++i)
      k.Raw(kExitKindNames[i], std::to_string((*v.exit_kinds)[i]));
    o.Raw("exit_kinds", k.Done());
  }
  o.Num("run_ns", v.run_ns);
  o.Num("wait_ns", v.wait_ns);
  o.Num("slices", v.slices);
  o.Num("halt_ns", v.halt_ns);
  if (v.pmu) {
    Obj k;
    for (size_t i = 0; i < kPmuRoles; ++i) {
      const auto& r = (*v.pmu)[i];
      k.Raw(kPmuRoleNames[i], r ? std::to_string(*r) : "null");
    }
    o.Raw("pmu", k.Done());
  }
  o.Num("ipc_milli", v.ipc_milli);
  o.Num("llc_mpki_milli", v.llc_mpki_milli);
  o.Num("br_mpki_milli", v.br_mpki_milli);
  o.Num("exit_rate_milli", v.exit_rate_milli);
  o.Num("mean_run_ns", v.mean_run_ns);
  o.Num("quantum_ns", v.quantum_ns);
  return o.Done();
}

}  // namespace kq::nl
