// The Verilator testbench of RegisterWb: the Verilog that `clash --verilog` generates from
// RegisterWbTop.hs (interconnect + four registerWb slaves with their circuit-side writes),
// driven by the same seeded master and checked by the same scoreboard as
// scenarios/haskell/RegisterWb.hs, which it mirrors line for line: `tb fixed N` prints the
// transactions/reads/errs/checksum/lookahead line that `RegisterWb fixed N` prints.
//
// Usage: tb (fixed|unbounded_log) CYCLES [SEED] [--trace FILE.vcd] [--corrupt-slave I]
//   fixed          the scoreboard keeps the expected value of each register and a log of the
//                  last 1,024 transactions for its failure report: bounded memory, though it
//                  allocates (and frees) a log record per transaction all run long.
//   unbounded_log  the leak knob: the log keeps every transaction instead of the last 1,024,
//                  so the heap grows by one record per transaction, allocated in
//                  Scoreboard::record.
//   --trace          writes a VCD waveform (the model is built with --trace).
//   --corrupt-slave  flips bit 0 of slave I's read data before the scoreboard sees it, to show
//                    that the scoreboard catches a wrong read (exit code 1).
// Exit codes: 0 all checks passed, 1 a scoreboard mismatch, 2 a usage error.

#include <cerrno>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "VRegisterWbTop.h"
#include "verilated.h"
#if VM_TRACE
#include "verilated_vcd_c.h"
#endif

namespace tb {

constexpr int kSlaves = 4;
constexpr int kLookN = 16;
// RegisterWbTop.hs's memory map: slave i at prefix i + 1 (0 and 5..15 unmapped), and the
// per-slave priority for a circuit write in the same cycle as a bus write.
constexpr unsigned kPrefixes[kSlaves] = {1, 2, 3, 4};
enum class Priority { Circuit, Wishbone };
constexpr Priority kPriorities[kSlaves] = {Priority::Circuit, Priority::Wishbone,
                                           Priority::Circuit, Priority::Wishbone};

uint64_t xorshift64(uint64_t x) {
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  return x;
}

struct M2S {
  uint32_t addr = 0;
  uint32_t write_data = 0;
  uint8_t bus_select = 0;
  bool lock = false;
  bool bus_cycle = false;
  bool strobe = false;
  bool write_enable = false;
};

struct S2M {
  uint32_t read_data = 0;
  bool acknowledge = false;
  bool err = false;
};

// RegisterWb.hs's circuitWrites: the circuit writes slave i when its cycle counter's low five
// bits equal 8i+3. `written` is false when it does not write.
struct CircuitWrite {
  bool written;
  uint32_t value;
};

CircuitWrite circuit_write(uint32_t counter, int slave) {
  if ((counter & 31) == 8u * slave + 3)
    return {true, counter * 0x9E3779B1u + static_cast<uint32_t>(slave)};
  return {false, 0};
}

// One checked transaction, as the transaction log keeps it.
struct Transaction {
  uint64_t cycle;
  M2S request;
  S2M response;
  bool ok;
};

// The scoreboard: the reference model of the registers (the expected value of each, including
// the circuit's own writes), the counts, and a log of the transactions it checked, for the
// failure report: one heap record per transaction, appended in record(). `fixed` keeps the
// last kLogLimit records (the oldest is freed as a new one comes); `unbounded_log`, the leak
// knob, keeps every record of the run.
class Scoreboard {
 public:
  static constexpr uint64_t kLogLimit = 1024;
  explicit Scoreboard(bool bounded_log) : bounded_log_(bounded_log) {}
  Scoreboard(const Scoreboard&) = delete;
  Scoreboard& operator=(const Scoreboard&) = delete;
  ~Scoreboard() {
    // Iterative: the log can be millions of records long.
    while (head_ != nullptr) {
      LogRecord* next = head_->next;
      delete head_;
      head_ = next;
    }
  }

  // Checks the response to `req` at `cycle` and advances the model by one cycle, with the
  // circuit's writes `cw` of that cycle. Returns whether the response was right. Not inlined,
  // so that the log's allocation site is this function in a heap profile.
  __attribute__((noinline)) bool record(uint64_t cycle, const M2S& req, const S2M& resp,
                                        const CircuitWrite (&cw)[kSlaves]) {
    const bool active = req.bus_cycle && req.strobe;
    const unsigned prefix = req.addr >> 28;
    int target = -1;
    for (int i = 0; i < kSlaves; ++i)
      if (kPrefixes[i] == prefix) target = i;
    bool ok;
    if (target < 0)
      ok = resp.err && !resp.acknowledge;
    else
      ok = resp.acknowledge && !resp.err &&
           (req.write_enable || resp.read_data == expected_[target]);
    uint32_t byte_mask = 0;
    for (int lane = 0; lane < 4; ++lane)
      if (req.bus_select & (1u << lane)) byte_mask |= 0xFFu << (8 * lane);
    for (int i = 0; i < kSlaves; ++i) {
      const bool bus_write = active && req.write_enable && target == i;
      const uint32_t merged = (req.write_data & byte_mask) | (expected_[i] & ~byte_mask);
      if (cw[i].written && kPriorities[i] == Priority::Circuit)
        expected_[i] = cw[i].value;
      else if (bus_write)
        expected_[i] = merged;
      else if (cw[i].written)
        expected_[i] = cw[i].value;
    }
    if (!active) return true;
    ++transactions_;
    if (target >= 0 && !req.write_enable) ++reads_;
    if (target < 0) ++errs_;
    if (!ok) {
      if (mismatches_ == 0) first_mismatch_ = Transaction{cycle, req, resp, ok};
      ++mismatches_;
    }
    auto* rec = new LogRecord{Transaction{cycle, req, resp, ok}, nullptr};
    if (tail_ != nullptr)
      tail_->next = rec;
    else
      head_ = rec;
    tail_ = rec;
    ++log_length_;
    if (bounded_log_ && log_length_ > kLogLimit) {
      LogRecord* oldest = head_;
      head_ = oldest->next;
      delete oldest;
      --log_length_;
    }
    return ok;
  }

  uint64_t transactions() const { return transactions_; }
  uint64_t reads() const { return reads_; }
  uint64_t errs() const { return errs_; }
  uint64_t mismatches() const { return mismatches_; }

  // The failure report: the first mismatch and the last `n` transactions of the log.
  void report(std::FILE* out, uint64_t n) const {
    print(out, "first mismatch", first_mismatch_);
    uint64_t skip = log_length_ > n ? log_length_ - n : 0;
    for (const LogRecord* r = head_; r != nullptr; r = r->next)
      if (skip == 0)
        print(out, "log", r->transaction);
      else
        --skip;
  }

 private:
  struct LogRecord {
    Transaction transaction;
    LogRecord* next;
  };
  static void print(std::FILE* out, const char* what, const Transaction& t) {
    std::fprintf(out,
                 "%s: cycle %" PRIu64 ": addr 0x%08x we %d data 0x%08x sel 0x%x answered ack %d "
                 "err %d data 0x%08x%s\n",
                 what, t.cycle, t.request.addr, t.request.write_enable, t.request.write_data,
                 t.request.bus_select, t.response.acknowledge, t.response.err,
                 t.response.read_data, t.ok ? "" : " MISMATCH");
  }
  bool bounded_log_;
  uint32_t expected_[kSlaves] = {0, 0, 0, 0};
  uint64_t transactions_ = 0, reads_ = 0, errs_ = 0, mismatches_ = 0;
  Transaction first_mismatch_{};
  LogRecord* head_ = nullptr;  // oldest
  LogRecord* tail_ = nullptr;  // newest
  uint64_t log_length_ = 0;
};

// RegisterWb.hs's master: a Moore machine whose request register is decided by this cycle's
// random word, and a 16-word xorshift lookahead seeded from the previous one (kept only to print
// the same final word as the Clash program).
class Master {
 public:
  const M2S& request() const { return req_; }
  uint64_t lookahead() const { return look_last_; }

  void step(uint64_t r, const S2M& resp) {
    uint64_t x = look_last_ ^ r;
    for (int k = 1; k < kLookN; ++k) x = xorshift64(x);
    look_last_ = x;
    const bool issue = ((r >> 13) & 7) != 0;
    const bool unmapped = (r & 15) < 2;
    const unsigned prefix = unmapped ? 5 + static_cast<unsigned>(((r >> 4) & 0xFFFF) % 11)
                                     : kPrefixes[(r >> 4) & 3];
    const bool we = (r >> 8) & 1;
    const bool start_lock = ((r >> 14) & 1) && !we;
    req_.addr = static_cast<uint32_t>(prefix) << 28;
    req_.write_data = static_cast<uint32_t>(r >> 32);
    req_.bus_select = static_cast<uint8_t>((r >> 9) & 0xF);
    req_.write_enable = we;
    req_.bus_cycle = issue;
    req_.strobe = issue;
    req_.lock = (req_.lock && !resp.err) || start_lock;
  }

 private:
  M2S req_;
  uint64_t look_last_ = 1;
};

// Clash's Show instance of BitVector 32: 0b and four-bit groups separated by _.
std::string show_bitvector32(uint32_t v) {
  std::string s = "0b";
  for (int bit = 31; bit >= 0; --bit) {
    s += ((v >> bit) & 1) ? '1' : '0';
    if (bit % 4 == 0 && bit != 0) s += '_';
  }
  return s;
}

[[noreturn]] void usage(const char* msg) {
  std::fprintf(stderr,
               "%s\nusage: tb (fixed|unbounded_log) CYCLES [SEED] [--trace FILE.vcd] "
               "[--corrupt-slave 0-3]\n",
               msg);
  std::exit(2);
}

bool parse_u64(const char* s, uint64_t* out) {
  if (*s == '\0' || *s == '-') return false;
  char* end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(s, &end, 10);
  if (errno != 0 || *end != '\0') return false;
  *out = v;
  return true;
}

}  // namespace tb

using namespace tb;

int main(int argc, char** argv) {
  if (argc < 3) usage("missing arguments");
  bool bounded_log;
  if (std::strcmp(argv[1], "fixed") == 0)
    bounded_log = true;
  else if (std::strcmp(argv[1], "unbounded_log") == 0)
    bounded_log = false;
  else
    usage("unknown variant (expected fixed or unbounded_log)");
  uint64_t cycles = 0, seed = 7;
  if (!parse_u64(argv[2], &cycles) || cycles == 0) usage("CYCLES must be a positive integer");
  const char* trace_path = nullptr;
  int corrupt_slave = -1;
  bool seed_given = false;
  for (int a = 3; a < argc; ++a) {
    if (std::strcmp(argv[a], "--trace") == 0 && a + 1 < argc) {
      trace_path = argv[++a];
    } else if (std::strcmp(argv[a], "--corrupt-slave") == 0 && a + 1 < argc) {
      uint64_t s;
      if (!parse_u64(argv[++a], &s) || s >= kSlaves) usage("--corrupt-slave takes 0 to 3");
      corrupt_slave = static_cast<int>(s);
    } else if (!seed_given && parse_u64(argv[a], &seed)) {
      seed_given = true;
    } else {
      usage("unexpected argument");
    }
  }

  auto ctx = std::make_unique<VerilatedContext>();
  auto top = std::make_unique<VRegisterWbTop>(ctx.get());
#if VM_TRACE
  std::unique_ptr<VerilatedVcdC> vcd;
  if (trace_path != nullptr) {
    ctx->traceEverOn(true);
    vcd = std::make_unique<VerilatedVcdC>();
    top->trace(vcd.get(), 99);
    vcd->open(trace_path);
  }
#else
  if (trace_path != nullptr) usage("--trace: this model was built without --trace");
#endif

  Scoreboard board(bounded_log);
  Master master;
  // RegisterWb.hs's random words: Prelude.iterate xorshift64 seed, one per cycle.
  uint64_t r = seed == 0 ? 0x9E3779B97F4A7C15ull : seed;
  uint32_t checksum = 0;
  // Clash's resetGen holds reset for cycle 0: every register (the circuit's and the master's)
  // keeps its initial value through the first clock edge. The circuit's counter thus counts
  // cycles since the reset was released.
  for (uint64_t cycle = 0; cycle < cycles; ++cycle) {
    const M2S& req = master.request();
    top->rst = cycle == 0;
    top->clk = 0;
    top->m2s_adr = req.addr;
    top->m2s_dat_w = req.write_data;
    top->m2s_sel = req.bus_select;
    top->m2s_lock = req.lock;
    top->m2s_cyc = req.bus_cycle;
    top->m2s_stb = req.strobe;
    top->m2s_we = req.write_enable;
    top->m2s_cti = 0;  // Classic
    top->m2s_bte = 0;  // LinearBurst
    top->eval();
#if VM_TRACE
    if (vcd) vcd->dump(2 * cycle);
#endif
    checksum ^= top->checksum;
    if (cycle + 1 < cycles) {
      if (cycle > 0) {
        S2M resp{top->s2m_dat_r, static_cast<bool>(top->s2m_ack),
                 static_cast<bool>(top->s2m_err)};
        const unsigned prefix = req.addr >> 28;
        if (corrupt_slave >= 0 && prefix == kPrefixes[corrupt_slave]) resp.read_data ^= 1;
        const uint32_t counter = static_cast<uint32_t>(cycle - 1);
        CircuitWrite cw[kSlaves];
        for (int i = 0; i < kSlaves; ++i) cw[i] = circuit_write(counter, i);
        board.record(cycle, req, resp, cw);
        master.step(r, resp);
      }
      top->clk = 1;
      top->eval();
#if VM_TRACE
      if (vcd) vcd->dump(2 * cycle + 1);
#endif
    }
    r = xorshift64(r);
  }
  top->final();
#if VM_TRACE
  if (vcd) vcd->close();
#endif

  std::printf("variant: %s cycles: %" PRIu64 " seed: %" PRIu64 "\n", argv[1], cycles, seed);
  std::printf("transactions: %" PRIu64 " reads: %" PRIu64 " errs: %" PRIu64
              " checksum: %s lookahead: %" PRIu64 "\n",
              board.transactions(), board.reads(), board.errs(),
              show_bitvector32(checksum).c_str(), master.lookahead());
  std::printf("mismatches: %" PRIu64 "\n", board.mismatches());
  if (board.mismatches() != 0) {
    board.report(stderr, 8);
    return 1;
  }
  return 0;
}
