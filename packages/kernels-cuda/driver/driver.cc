// The kernel driver: runs every case of a case directory (scripts/make-driver-cases.mjs) through
// the kernels and prints one table: error against the CPU reference, time, and achieved GB/s or
// TFLOP/s. Built twice from the same files (driver/build.sh): with nvcc for the GPU (kernels on the
// device, cuBLAS when it loads) and with g++ for the host build, which the package's tests run
// against the same files. Needs neither Node nor npm.
//
//   dcf-driver CASE_DIR [--scale-mib M] [--min-ms T] [--only NAME]
//
// --scale-mib M: tile each case along its leading dimension until its tensors hold ≥ M MiB (default
// 0: the stored size), so that the time measures memory bandwidth rather than launch overhead;
// expected outputs are tiled the same way (sums over that dimension scale by the factor).
// --min-ms T: repeat each kernel until T ms have passed (default 50) and report the mean.
// Exit status: 0 when every case is within tolerance, 1 otherwise, 2 on a usage or I/O error.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>
#include "kernels.h"
#include "runtime.h"

namespace {

struct Tensor {
  std::string name;
  bool tiled = false, summed = false, isInt = false;
  std::vector<char> host;  // stored bytes, tiled to the run's size
  void* dev = nullptr;
  size_t bytes() const { return host.size(); }
};

struct Case {
  std::string name, kernel;
  double atol = 0, rtol = 0;
  std::map<std::string, double> dims;
  std::vector<Tensor> in, out;
  double dim(const char* k) const {
    auto it = dims.find(k);
    if (it == dims.end()) throw std::runtime_error("case " + name + ": no dimension '" + k + "' in the manifest");
    return it->second;
  }
  int64_t i(const char* k) const { return static_cast<int64_t>(dim(k)); }
  Tensor& get(std::vector<Tensor>& list, const std::string& n) {
    for (auto& t : list)
      if (t.name == n) return t;
    throw std::runtime_error("case " + name + ": no tensor '" + n + "'");
  }
  const float* f(const std::string& n) { return static_cast<const float*>(get(in, n).dev); }
  const float* fOpt(const std::string& n) {
    for (auto& t : in)
      if (t.name == n) return static_cast<const float*>(t.dev);
    return nullptr;
  }
  float* o(const std::string& n) { return static_cast<float*>(get(out, n).dev); }
  float* oOpt(const std::string& n) {
    for (auto& t : out)
      if (t.name == n) return static_cast<float*>(t.dev);
    return nullptr;
  }
};

std::vector<char> readFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error("cannot read " + path);
  return std::vector<char>((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

// "name kernel atol rtol k=v … | in t:flags … | out t:flags …"
Case parse(const std::string& line, const std::string& dir) {
  Case c;
  std::istringstream s(line);
  s >> c.name >> c.kernel >> c.atol >> c.rtol;
  std::string tok;
  int section = 0;
  while (s >> tok) {
    if (tok == "|") {
      section++;
      continue;
    }
    if (section == 0) {
      const size_t eq = tok.find('=');
      c.dims[tok.substr(0, eq)] = std::atof(tok.c_str() + eq + 1);
      continue;
    }
    Tensor t;
    const size_t colon = tok.find(':');
    t.name = tok.substr(0, colon);
    const std::string flags = tok.substr(colon + 1);
    t.tiled = flags.find('t') != std::string::npos;
    t.summed = flags.find('s') != std::string::npos;
    t.isInt = flags.find('i') != std::string::npos;
    t.host = readFile(dir + "/" + c.name + "/" + t.name + ".bin");
    (section == 1 ? c.in : c.out).push_back(std::move(t));
  }
  return c;
}

// The case's leading dimension, multiplied when the case is tiled.
const char* tileDim(const std::string& kernel) {
  if (kernel == "gelu" || kernel == "gelu_backward" || kernel == "adamw") return "n";
  if (kernel == "rms_norm" || kernel == "rms_norm_backward") return "rows";
  if (kernel == "cross_entropy" || kernel == "cross_entropy_backward") return "R";
  if (kernel == "gemm") return "batch";
  return "B";  // rope, compose, decode_attention
}

void tile(Case& c, int64_t factor) {
  // notile: outputs not laid out batch-first (the dynamic weights' [4, X, …]); timed as stored
  if (factor <= 1 || c.dims.count("notile") > 0) return;
  c.dims[tileDim(c.kernel)] *= static_cast<double>(factor);
  for (auto* list : {&c.in, &c.out})
    for (Tensor& t : *list) {
      if (!t.tiled && !t.summed) continue;
      if (t.tiled) {
        std::vector<char> big(t.bytes() * factor);
        for (int64_t k = 0; k < factor; k++) std::memcpy(big.data() + k * t.bytes(), t.host.data(), t.bytes());
        t.host.swap(big);
      } else {  // summed over the tiled dimension: factor copies of each term
        float* v = reinterpret_cast<float*>(t.host.data());
        for (size_t j = 0; j < t.bytes() / 4; j++) v[j] *= static_cast<float>(factor);
      }
    }
}

// Device scratch that grows as needed and lives until the process ends.
std::string scratch(size_t bytes, void** out) {
  static void* buf = nullptr;
  static size_t have = 0;
  if (bytes > have) {
    if (buf != nullptr) dcf::deviceFree(buf);
    buf = nullptr;
    have = 0;
    const std::string e = dcf::deviceAlloc(&buf, bytes);
    if (!e.empty()) return e;
    have = bytes;
  }
  *out = buf;
  return "";
}

// Runs the case's kernel once on the device buffers; returns "" or the error. FLOPs for GEMM.
std::string launch(Case& c, double* flops) {
  const std::string& k = c.kernel;
  *flops = 0;
  if (k == "gelu") dcf::geluForward(c.f("x"), c.o("y"), c.i("n"));
  else if (k == "gelu_backward") dcf::geluBackward(c.f("x"), c.f("dy"), c.o("dx"), c.i("n"));
  else if (k == "rms_norm") dcf::rmsNormForward(c.f("x"), c.f("w"), c.o("y"), c.i("rows"), c.i("D"), static_cast<float>(c.dim("eps")));
  else if (k == "rms_norm_backward") {
    void* inv = nullptr;
    const std::string e = scratch(static_cast<size_t>(c.i("rows")) * 4, &inv);
    if (!e.empty()) return e;
    dcf::rmsNormBackward(c.f("x"), c.f("w"), c.f("dy"), c.o("dx"), c.o("dw"), static_cast<float*>(inv), c.i("rows"), c.i("D"),
                         static_cast<float>(c.dim("eps")));
  } else if (k == "rope") {
    dcf::rope(c.f("x"), c.f("cos"), c.f("sin"), c.o("y"), c.i("B"), c.i("T"), c.i("N"), c.i("E"), c.i("H"), c.i("tableRows"));
  } else if (k == "adamw") {
    dcf::adamW(c.f("p"), c.f("g"), c.f("m"), c.f("v"), c.o("p1"), c.o("m1"), c.o("v1"), c.i("n"), static_cast<float>(c.dim("gradScale")),
               static_cast<float>(c.dim("decay")), c.dim("beta1"), c.dim("beta2"), static_cast<float>(c.dim("eps")),
               static_cast<float>(c.dim("stepSize")), static_cast<float>(c.dim("bc2Sqrt")));
  } else if (k == "cross_entropy") {
    dcf::crossEntropyForward(c.f("logits"), static_cast<const int32_t*>(c.get(c.in, "labels").dev), c.o("loss"), c.o("lse"), c.i("R"), c.i("V"));
  } else if (k == "cross_entropy_backward") {
    dcf::crossEntropyBackward(c.f("logits"), static_cast<const int32_t*>(c.get(c.in, "labels").dev), c.f("lse"), c.f("dy"), c.o("dlogits"),
                              c.i("R"), c.i("V"));
  } else if (k == "compose" || k == "compose_backward") {
    const dcf::ComposeDims d{c.i("B"), c.i("N"), c.i("T"), c.i("S"), c.i("I"), c.i("bandQ"), c.i("bandK"), c.i("bandW")};
    if (k == "compose")
      dcf::composeForward(c.f("x"), c.fOpt("qw1"), c.fOpt("qw2"), c.fOpt("qdd"), c.fOpt("kw1"), c.fOpt("kw2"), c.fOpt("kdd"), c.o("y"), d);
    else
      dcf::composeBackward(c.f("x"), c.fOpt("qw1"), c.fOpt("qw2"), c.fOpt("qdd"), c.fOpt("kw1"), c.fOpt("kw2"), c.fOpt("kdd"), c.f("dy"),
                           c.o("dx"), c.oOpt("dqw1"), c.oOpt("dqw2"), c.oOpt("dqdd"), c.oOpt("dkw1"), c.oOpt("dkw2"), c.oOpt("dkdd"), d);
  } else if (k == "decode_attention") {
    const int64_t B = c.i("B"), N = c.i("N"), S = c.i("S"), E = c.i("E"), I = c.i("I");
    void* buf = nullptr;
    const std::string e = scratch(static_cast<size_t>(2 * B * N * S) * 4, &buf);
    if (!e.empty()) return e;
    const dcf::ComposeSide pre{c.fOpt("preQw1"), c.fOpt("preQw2"), c.fOpt("preQdd"), c.fOpt("preKw1"), c.fOpt("preKw2"), c.fOpt("preKdd")};
    const dcf::ComposeSide post{c.fOpt("postQw1"), c.fOpt("postQw2"), c.fOpt("postQdd"), c.fOpt("postKw1"), c.fOpt("postKw2"), c.fOpt("postKdd")};
    dcf::decodeAttention(c.f("q"), c.f("k"), c.f("v"), pre, post, static_cast<const int32_t*>(c.get(c.in, "lo").dev), c.o("out"),
                         static_cast<float*>(buf), B, N, S, E, I, static_cast<float>(c.dim("scale")));
  } else if (k == "dynamic_weights") {
    dcf::dynamicWeights(c.f("x"), c.f("dw1"), c.f("qkw"), c.f("dd"), c.o("w1"), c.o("w2"), c.o("ddOut"), c.i("X"), c.i("D"), c.i("K"), c.i("I"),
                        c.i("N"));
  } else if (k == "gemm") {
    const int64_t batch = c.i("batch"), M = c.i("M"), N = c.i("N"), K = c.i("K");
    *flops = 2.0 * batch * M * N * K;
    return dcf::gemm(c.f("a"), c.f("b"), c.o("c"), batch, M, N, K, c.i("transA") != 0, c.i("transB") != 0, c.i("strideA"), c.i("strideB"));
  } else {
    return "unknown kernel '" + k + "'";
  }
  return "";
}

struct Error {
  double maxAbs = 0, worstRatio = 0;  // worstRatio = max |diff| / (atol + rtol·|expected|); ≤ 1 passes
  std::string where;
};

Error compare(const Case& c, const Tensor& expected, const std::vector<char>& got, Error e) {
  const size_t n = expected.bytes() / 4;
  const float* want = reinterpret_cast<const float*>(expected.host.data());
  const float* have = reinterpret_cast<const float*>(got.data());
  for (size_t j = 0; j < n; j++) {
    const double w = want[j], h = have[j];
    const double diff = std::isnan(w) && std::isnan(h) ? 0 : std::fabs(w - h);
    const double ratio = std::isnan(diff) ? INFINITY : diff / (c.atol + c.rtol * std::fabs(w));
    e.maxAbs = std::max(e.maxAbs, std::isnan(diff) ? INFINITY : diff);
    if (ratio > e.worstRatio) {
      e.worstRatio = ratio;
      e.where = expected.name + "[" + std::to_string(j) + "] " + std::to_string(h) + " vs " + std::to_string(w);
    }
  }
  return e;
}

void freeAll(Case& c) {
  for (auto* list : {&c.in, &c.out})
    for (Tensor& t : *list)
      if (t.dev != nullptr) dcf::deviceFree(t.dev), t.dev = nullptr;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s CASE_DIR [--scale-mib M] [--min-ms T] [--only NAME]\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  double scaleMiB = 0, minMs = 50;
  std::string only;
  for (int a = 2; a + 1 < argc; a += 2) {
    if (!std::strcmp(argv[a], "--scale-mib")) scaleMiB = std::atof(argv[a + 1]);
    else if (!std::strcmp(argv[a], "--min-ms")) minMs = std::atof(argv[a + 1]);
    else if (!std::strcmp(argv[a], "--only")) only = argv[a + 1];
    else {
      std::fprintf(stderr, "unknown option %s\n", argv[a]);
      return 2;
    }
  }
  const std::string status = dcf::deviceStatus();
  std::printf("dcf-driver (%s build) on %s; GEMM: %s\n", dcf::variant(), dcf::deviceName().c_str(),
              status.empty() ? dcf::gemmBackend().c_str() : "none");
  if (!status.empty()) {
    std::printf("no device: %s\n", status.c_str());
    return 2;
  }
  std::ifstream manifest(dir + "/manifest.txt");
  if (!manifest) {
    std::fprintf(stderr, "cannot read %s/manifest.txt (write it with: node scripts/make-driver-cases.mjs)\n", dir.c_str());
    return 2;
  }
  std::printf("%-24s %-22s %9s %11s %6s %9s %10s %9s %s\n", "case", "kernel", "MiB", "max|err|", "ok", "ms", "GB/s", "TFLOP/s", "worst");
  int failed = 0, ran = 0;
  std::string line;
  while (std::getline(manifest, line)) {
    if (line.empty() || line[0] == '#') continue;
    Case c;
    try {
      c = parse(line, dir);
    } catch (const std::exception& e) {
      std::printf("%s\n", e.what());
      return 2;
    }
    if (!only.empty() && c.name != only) continue;
    size_t bytes = 0;
    for (auto* list : {&c.in, &c.out})
      for (Tensor& t : *list) bytes += t.bytes();
    const int64_t factor = scaleMiB > 0 ? std::max<int64_t>(1, static_cast<int64_t>(std::ceil(scaleMiB * 1048576.0 / bytes))) : 1;
    tile(c, factor);
    bytes = 0;
    std::string err;
    for (auto* list : {&c.in, &c.out})
      for (Tensor& t : *list) {
        bytes += t.bytes();
        if (err.empty()) err = dcf::deviceAlloc(&t.dev, t.bytes());
        if (err.empty() && list == &c.in) err = dcf::copyToDevice(t.dev, t.host.data(), t.bytes());
        if (err.empty() && list == &c.out) err = dcf::deviceMemset0(t.dev, t.bytes());
      }
    double flops = 0;
    if (err.empty()) err = launch(c, &flops);
    if (err.empty()) err = dcf::deviceSync(c.name.c_str());
    Error e;
    for (Tensor& t : c.out) {
      if (!err.empty()) break;
      std::vector<char> got(t.bytes());
      err = dcf::copyToHost(got.data(), t.dev, t.bytes());
      e = compare(c, t, got, e);
    }
    // time: one run to size the loop, then enough back-to-back runs to fill minMs and one sync
    // at the end, so launch latency overlaps and the mean is per kernel, not per round trip
    double ms = 0;
    if (err.empty()) {
      using clock = std::chrono::steady_clock;
      double f;
      auto t0 = clock::now();
      err = launch(c, &f);
      if (err.empty()) err = dcf::deviceSync(c.name.c_str());
      const double once = std::chrono::duration<double, std::milli>(clock::now() - t0).count();
      const int reps = static_cast<int>(std::min(1000.0, std::max(3.0, minMs / std::max(once, 1e-3))));
      t0 = clock::now();
      for (int r = 0; r < reps && err.empty(); r++) err = launch(c, &f);
      if (err.empty()) err = dcf::deviceSync(c.name.c_str());
      ms = std::chrono::duration<double, std::milli>(clock::now() - t0).count() / reps;
    }
    freeAll(c);
    ran++;
    if (!err.empty()) {
      failed++;
      std::printf("%-24s %-22s ERROR %s\n", c.name.c_str(), c.kernel.c_str(), err.c_str());
      continue;
    }
    const bool ok = e.worstRatio <= 1.0;
    if (!ok) failed++;
    const double gbs = bytes / (ms * 1e-3) / 1e9;
    char tf[32] = "-";
    if (flops > 0) std::snprintf(tf, sizeof tf, "%.2f", flops / (ms * 1e-3) / 1e12);
    std::printf("%-24s %-22s %9.1f %11.3g %6s %9.3f %10.1f %9s %s\n", c.name.c_str(), c.kernel.c_str(), bytes / 1048576.0, e.maxAbs,
                ok ? "yes" : "NO", ms, gbs, tf, ok ? "" : e.where.c_str());
  }
  std::printf("%d of %d cases within tolerance\n", ran - failed, ran);
  return failed == 0 && ran > 0 ? 0 : 1;
}
