// CTC prefix beam search with a character n-gram (interpolated Kneser-Ney) and a lexicon:
// the compiled twin of hwr/decoders/beam.py, which stays the reference. Same arithmetic in
// doubles, same order of candidates and the same stable ranking, so the two find the same
// readings with the same scores (tested on random and real posteriors).
//
// Prefixes live in a trie: a prefix is a node (its parent and last label), so growing one by
// a character is a lookup, and the n-gram context and the last word are read by walking up.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace py = pybind11;

namespace {

constexpr double NEG_INF = -std::numeric_limits<double>::infinity();
constexpr int BLANK = 0;
constexpr int END = 0;

struct VectorHash {
  size_t operator()(const std::vector<int64_t>& v) const {
    uint64_t h = 1469598103934665603ULL;
    for (int64_t x : v) {
      h ^= static_cast<uint64_t>(x) + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
    }
    return static_cast<size_t>(h);
  }
};

double logaddexp(double a, double b) {
  if (a < b) std::swap(a, b);
  return b == NEG_INF ? a : a + std::log1p(std::exp(b - a));
}

using Ints = py::array_t<int32_t, py::array::c_style | py::array::forcecast>;

class Searcher {
 public:
  // The n-gram's contexts, followers and counts, and the lexicon's words, as CharNgram.tables()
  // and Lexicon.tables() give them: each a flat array cut by offsets (checked in Python).
  Searcher(int order, int num_symbols, double discount, Ints context_symbols, Ints context_offsets, Ints followers,
           Ints follower_offsets, Ints counts, bool has_lexicon, Ints word_symbols, Ints word_offsets,
           int64_t separator)
      : order_(order), num_symbols_(num_symbols), discount_(discount), has_lexicon_(has_lexicon), separator_(separator) {
    // The tables are kept as they come, flat; only a hash of each context is indexed (a map keyed
    // by vectors took 0.1 s of every start for the base model's 187k contexts).
    context_symbols_.assign(context_symbols.data(), context_symbols.data() + context_symbols.size());
    context_offsets_.assign(context_offsets.data(), context_offsets.data() + context_offsets.size());
    followers_.assign(followers.data(), followers.data() + followers.size());
    follower_offsets_.assign(follower_offsets.data(), follower_offsets.data() + follower_offsets.size());
    counts_.assign(counts.data(), counts.data() + counts.size());
    const int64_t contexts = static_cast<int64_t>(context_offsets_.size()) - 1;
    totals_.assign(std::max<int64_t>(contexts, 0), 0.0);
    index_.reserve(static_cast<size_t>(std::max<int64_t>(contexts, 0)));
    for (int64_t i = 0; i < contexts; ++i) {
      for (int64_t j = follower_offsets_[i]; j < follower_offsets_[i + 1]; ++j) totals_[i] += counts_[j];
      index_.emplace(hash(context_symbols_.data() + context_offsets_[i], context_offsets_[i + 1] - context_offsets_[i]), i);
    }
    auto letters = word_symbols.unchecked<1>(), word_starts = word_offsets.unchecked<1>();
    for (int64_t i = 0; i + 1 < word_starts.shape(0); ++i) {
      std::vector<int64_t> word;
      for (int64_t j = word_starts(i); j < word_starts(i + 1); ++j) word.push_back(letters(j));
      words_.insert(std::move(word));
    }
  }

  // The n best readings of log_probs (T, K): (labels, ctc log-probability), best first.
  std::vector<std::pair<std::vector<int64_t>, double>> search(
      py::array_t<float, py::array::c_style> log_probs, double lm_weight,
      double insertion_bonus, int beam_width, double prune, double word_bonus, int n) {
    auto frames = log_probs.unchecked<2>();
    const int64_t T = frames.shape(0), K = frames.shape(1);
    // As numpy compares float32 frames with a Python float (NEP 50): in float32.
    const float threshold = static_cast<float>(prune > 0 ? std::log(prune) : NEG_INF);
    nodes_.assign(1, Node{-1, -1, 0, 0});
    children_.clear();

    std::vector<Beam> beams{Beam{0, 0.0, NEG_INF, 0.0, 0}};
    std::vector<Beam> following;
    std::unordered_map<int64_t, size_t> index;  // node -> its place in following
    std::vector<int64_t> candidates;
    {
      py::gil_scoped_release release;
      for (int64_t t = 0; t < T; ++t) {
        candidates.clear();
        for (int64_t k = 0; k < K; ++k) {
          if (k != BLANK && frames(t, k) >= threshold) candidates.push_back(k);
        }
        following.clear();
        index.clear();
        auto entry = [&](int64_t node, double lm, int known) -> Beam& {
          auto found = index.find(node);
          if (found != index.end()) return following[found->second];
          index.emplace(node, following.size());
          following.push_back(Beam{node, NEG_INF, NEG_INF, lm, known});
          return following.back();
        };
        for (const Beam& state : beams) {
          const double total = logaddexp(state.blank, state.last);
          const Node node = nodes_[state.node];
          {
            Beam& stay = entry(state.node, state.lm, state.known);
            stay.blank = logaddexp(stay.blank, total + frames(t, BLANK));
            if (node.label >= 0) stay.last = logaddexp(stay.last, state.last + frames(t, node.label));
          }
          if (candidates.empty()) continue;
          const std::vector<double>& lm_next = lm_log_probs(state.node);
          for (int64_t k : candidates) {
            const int64_t longer = child(state.node, k);
            const double came_from = (node.label >= 0 && k == node.label) ? state.blank : total;
            auto found = index.find(longer);
            if (found == index.end()) {
              const int known = state.known + (k == separator_ && ends_known_word(state.node));
              entry(longer, state.lm + lm_next[k], known);
              found = index.find(longer);
            }
            Beam& grown = following[found->second];
            grown.last = logaddexp(grown.last, came_from + frames(t, k));
          }
        }
        for (Beam& b : following) b.score = score(b, lm_weight, insertion_bonus, word_bonus);
        std::stable_sort(following.begin(), following.end(),
                         [](const Beam& a, const Beam& b) { return a.score > b.score; });
        if (static_cast<int64_t>(following.size()) > beam_width) following.resize(beam_width);
        beams.swap(following);
      }
      for (Beam& b : beams) {
        const double end = lm_weight * lm_log_probs(b.node)[END] + word_bonus * ends_known_word(b.node);
        b.score = score(b, lm_weight, insertion_bonus, word_bonus) + end;
      }
      std::stable_sort(beams.begin(), beams.end(), [](const Beam& a, const Beam& b) { return a.score > b.score; });
    }
    std::vector<std::pair<std::vector<int64_t>, double>> best;
    for (size_t i = 0; i < beams.size() && static_cast<int>(i) < n; ++i) {
      best.emplace_back(labels(beams[i].node), logaddexp(beams[i].blank, beams[i].last));
    }
    return best;
  }

 private:
  struct Node {
    int64_t parent;
    int64_t label;  // -1 for the empty prefix
    int64_t length;
    int lm_slot;  // 0: not looked up yet, else 1 + index into lm_rows_ of its context
  };
  struct Beam {
    int64_t node;
    double blank;  // log-probability of the frames so far, ending in a blank
    double last;   // ... ending in the prefix's last character
    double lm;     // language model log-probability of the prefix
    int known;     // completed words of the prefix that the lexicon knows
    double score = 0.0;
  };

  double score(const Beam& b, double lm_weight, double insertion_bonus, double word_bonus) const {
    return logaddexp(b.blank, b.last) + lm_weight * b.lm + insertion_bonus * static_cast<double>(nodes_[b.node].length) +
           word_bonus * b.known;
  }

  int64_t child(int64_t parent, int64_t label) {
    const uint64_t key = (static_cast<uint64_t>(parent) << 20) | static_cast<uint64_t>(label);
    auto found = children_.find(key);
    if (found != children_.end()) return found->second;
    nodes_.push_back(Node{parent, label, nodes_[parent].length + 1, 0});
    const int64_t id = static_cast<int64_t>(nodes_.size()) - 1;
    children_.emplace(key, id);
    return id;
  }

  std::vector<int64_t> labels(int64_t node) const {
    std::vector<int64_t> out;
    for (; nodes_[node].label >= 0; node = nodes_[node].parent) out.push_back(nodes_[node].label);
    std::reverse(out.begin(), out.end());
    return out;
  }

  bool ends_known_word(int64_t node) const {
    if (!has_lexicon_) return false;
    std::vector<int64_t> word;
    for (; nodes_[node].label >= 0 && nodes_[node].label != separator_; node = nodes_[node].parent) {
      word.push_back(nodes_[node].label);
    }
    if (word.empty()) return false;
    std::reverse(word.begin(), word.end());
    return words_.count(word) > 0;
  }

  // Log-probabilities of every symbol after the prefix ``node`` (its last order - 1 labels,
  // padded with the start symbol), as CharNgram.log_probs computes them.
  const std::vector<double>& lm_log_probs(int64_t node) {
    if (nodes_[node].lm_slot) return lm_rows_[nodes_[node].lm_slot - 1];
    std::vector<int64_t> context(std::max(order_ - 1, 0), END);
    int64_t at = node;
    for (int i = order_ - 2; i >= 0 && nodes_[at].label >= 0; --i, at = nodes_[at].parent) context[i] = nodes_[at].label;
    auto cached = cache_.find(context);
    if (cached == cache_.end()) {
      std::vector<double> probs(num_symbols_, 1.0 / num_symbols_);
      std::vector<int64_t> suffix;
      for (int length = 0; length < order_; ++length) {
        suffix.assign(context.end() - length, context.end());
        const int64_t seen = find(suffix);
        if (seen < 0) break;  // no longer context was seen either
        const double total = totals_[seen];
        const int64_t first = follower_offsets_[seen], end = follower_offsets_[seen + 1];
        const double keep = discount_ * static_cast<double>(end - first) / total;
        for (double& p : probs) p *= keep;
        for (int64_t j = first; j < end; ++j) probs[followers_[j]] += (counts_[j] - discount_) / total;
      }
      for (double& p : probs) p = std::log(p);
      if (cache_.size() >= 200000) {
        cache_.clear();
        lm_rows_.clear();
        for (Node& other : nodes_) other.lm_slot = 0;
      }
      cached = cache_.emplace(context, lm_rows_.size()).first;
      lm_rows_.push_back(std::move(probs));
    }
    nodes_[node].lm_slot = static_cast<int>(cached->second) + 1;
    return lm_rows_[cached->second];
  }

  int order_;
  int num_symbols_;
  double discount_;
  bool has_lexicon_;
  int64_t separator_;
  // The context of ``symbols``: its index in the tables, or -1 where it was never seen.
  int64_t find(const std::vector<int64_t>& symbols) const {
    const int64_t length = static_cast<int64_t>(symbols.size());
    auto range = index_.equal_range(hash(symbols.data(), length));
    for (auto it = range.first; it != range.second; ++it) {
      const int64_t i = it->second, start = context_offsets_[i];
      if (context_offsets_[i + 1] - start != length) continue;
      bool same = true;
      for (int64_t j = 0; j < length && same; ++j) same = context_symbols_[start + j] == symbols[j];
      if (same) return i;
    }
    return -1;
  }

  template <typename T>
  static uint64_t hash(const T* symbols, int64_t length) {
    uint64_t h = 1469598103934665603ULL ^ static_cast<uint64_t>(length);
    for (int64_t j = 0; j < length; ++j) {
      h ^= static_cast<uint64_t>(symbols[j]) + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
    }
    return h;
  }

  std::vector<int32_t> context_symbols_, context_offsets_, followers_, follower_offsets_, counts_;
  std::vector<double> totals_;
  std::unordered_multimap<uint64_t, int64_t> index_;
  std::unordered_set<std::vector<int64_t>, VectorHash> words_;
  std::unordered_map<std::vector<int64_t>, size_t, VectorHash> cache_;
  std::vector<std::vector<double>> lm_rows_;
  std::vector<Node> nodes_;
  std::unordered_map<uint64_t, int64_t> children_;
};

}  // namespace

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  py::class_<Searcher>(m, "Searcher")
      .def(py::init<int, int, double, Ints, Ints, Ints, Ints, Ints, bool, Ints, Ints, int64_t>())
      .def("search", &Searcher::search);
}
