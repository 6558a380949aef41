// NpyArray: the .npy preamble, a small parser for the header's Python dict literal, and the
// element conversions.
#include "data/npy_array.h"

#include <cctype>
#include <cstring>
#include <limits>
#include <utility>

#include "util/error.h"

namespace munet {
namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicSize = 6;
constexpr int64_t kMaxElements = int64_t(1) << 48;

struct TypeInfo {
  const char* descr;
  NpyType type;
  size_t bytes;
};
constexpr TypeInfo kTypes[] = {
    {"|b1", NpyType::kBool, 1},  {"|u1", NpyType::kUInt8, 1}, {"<u1", NpyType::kUInt8, 1},
    {"|i1", NpyType::kInt8, 1},  {"<i1", NpyType::kInt8, 1},  {"<i4", NpyType::kInt32, 4},
    {"<i8", NpyType::kInt64, 8}, {"<f4", NpyType::kFloat32, 4}, {"<f8", NpyType::kFloat64, 8},
};

// Reads the header's dict literal: {'key': value, ...} where a value is a quoted string,
// True/False, or a tuple of non-negative integers.
class HeaderParser {
 public:
  HeaderParser(const std::string& text, const std::string& where) : s_(text), where_(where) {}

  void expect(char c) {
    skip_space();
    if (pos_ >= s_.size() || s_[pos_] != c) bad(cat("expected '", c, "'"));
    ++pos_;
  }
  bool accept(char c) {
    skip_space();
    if (pos_ < s_.size() && s_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  char peek() {
    skip_space();
    return pos_ < s_.size() ? s_[pos_] : '\0';
  }
  std::string string() {
    skip_space();
    const char quote = pos_ < s_.size() ? s_[pos_] : '\0';
    if (quote != '\'' && quote != '"') bad("expected a quoted string");
    const size_t end = s_.find(quote, pos_ + 1);
    if (end == std::string::npos) bad("unterminated string");
    std::string out = s_.substr(pos_ + 1, end - pos_ - 1);
    pos_ = end + 1;
    return out;
  }
  bool boolean() {
    skip_space();
    for (const auto& [word, value] : {std::pair{"True", true}, std::pair{"False", false}}) {
      if (s_.compare(pos_, std::strlen(word), word) == 0) {
        pos_ += std::strlen(word);
        return value;
      }
    }
    bad("expected True or False");
  }
  std::vector<int64_t> tuple() {
    std::vector<int64_t> out;
    expect('(');
    while (!accept(')')) {
      skip_space();
      if (pos_ >= s_.size() || !std::isdigit(static_cast<unsigned char>(s_[pos_])))
        bad("expected a non-negative integer in the shape");
      int64_t v = 0;
      while (pos_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[pos_]))) {
        if (v > kMaxElements) bad("shape dimension too large");
        v = v * 10 + (s_[pos_++] - '0');
      }
      accept('L');  // Python 2 long suffix
      out.push_back(v);
      if (!accept(',')) {
        expect(')');
        break;
      }
    }
    return out;
  }
  void skip_value() {
    const char c = peek();
    if (c == '\'' || c == '"')
      string();
    else if (c == '(')
      tuple();
    else
      boolean();
  }
  [[noreturn]] void bad(const std::string& what) const {
    fail(where_, ": malformed .npy header (", what, " at character ", pos_, "): ", s_);
  }

 private:
  void skip_space() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
  }
  const std::string& s_;
  const std::string& where_;
  size_t pos_ = 0;
};

}  // namespace

std::string shape_string(const std::vector<int64_t>& shape) {
  std::string out = "(";
  for (size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + (shape.size() == 1 ? ",)" : ")");
}

NpyArray::NpyArray(std::vector<uint8_t> bytes, std::string where)
    : where_(std::move(where)), bytes_(std::move(bytes)) {
  if (bytes_.size() < kMagicSize + 4 || std::memcmp(bytes_.data(), kMagic, kMagicSize) != 0)
    fail(where_, ": not a .npy array (bad magic or too short: ", bytes_.size(), " bytes)");
  const int major = bytes_[6], minor = bytes_[7];
  size_t header_len = 0, preamble = 0;
  if (major == 1) {
    header_len = bytes_[8] | bytes_[9] << 8;
    preamble = 10;
  } else if (major == 2 || major == 3) {
    if (bytes_.size() < 12) fail(where_, ": truncated .npy preamble");
    header_len = size_t(bytes_[8]) | size_t(bytes_[9]) << 8 | size_t(bytes_[10]) << 16 |
                 size_t(bytes_[11]) << 24;
    preamble = 12;
  } else {
    fail(where_, ": unsupported .npy format version ", major, ".", minor,
         " (supported: 1.0, 2.0, 3.0)");
  }
  if (bytes_.size() - preamble < header_len)
    fail(where_, ": truncated .npy header (", header_len, " bytes announced, ",
         bytes_.size() - preamble, " present)");
  offset_ = preamble + header_len;
  parse_header(std::string(bytes_.begin() + preamble, bytes_.begin() + offset_));

  const size_t payload = bytes_.size() - offset_;
  const size_t expected = static_cast<size_t>(size_) * item_bytes_;
  if (payload != expected)
    fail(where_, ": .npy payload ", payload < expected ? "too short" : "too long", ": ", payload,
         " bytes, but shape ", shape_string(shape_), " of '", descr_, "' needs ", expected);
}

void NpyArray::parse_header(const std::string& header) {
  HeaderParser p(header, where_);
  bool have_descr = false, have_order = false, have_shape = false, fortran = false;
  p.expect('{');
  while (!p.accept('}')) {
    const std::string key = p.string();
    p.expect(':');
    if (key == "descr") {
      if (p.peek() != '\'' && p.peek() != '"')
        fail(where_, ": unsupported dtype (structured arrays are not supported)");
      descr_ = p.string();
      have_descr = true;
    } else if (key == "fortran_order") {
      fortran = p.boolean();
      have_order = true;
    } else if (key == "shape") {
      shape_ = p.tuple();
      have_shape = true;
    } else {
      p.skip_value();
    }
    if (!p.accept(',')) {
      p.expect('}');
      break;
    }
  }
  if (!have_descr || !have_order || !have_shape)
    p.bad("the dict needs 'descr', 'fortran_order' and 'shape'");
  if (fortran)
    fail(where_, ": fortran_order=True arrays are not supported (save the array in C order)");
  bool known = false;
  for (const TypeInfo& t : kTypes) {
    if (descr_ == t.descr) {
      type_ = t.type;
      item_bytes_ = t.bytes;
      known = true;
    }
  }
  if (!known)
    fail(where_, ": unsupported dtype '", descr_, "' (supported: |b1, |u1, |i1, <i4, <i8, <f4, <f8)");
  size_ = 1;
  for (int64_t d : shape_) {
    if (d != 0 && size_ > kMaxElements / d)
      fail(where_, ": shape ", shape_string(shape_), " is too large");
    size_ *= d;
  }
}

int64_t NpyArray::element(int64_t i) const {
  const uint8_t* p = data() + i * item_bytes_;
  switch (type_) {
    case NpyType::kFloat32:
    case NpyType::kFloat64:
      fail(where_, ": dtype '", descr_, "' holds floating-point values, integers are expected");
    case NpyType::kBool:
    case NpyType::kUInt8:
      return *p;
    case NpyType::kInt8:
      return static_cast<int8_t>(*p);
    case NpyType::kInt32: {
      uint32_t u = 0;
      for (int k = 3; k >= 0; --k) u = u << 8 | p[k];
      return static_cast<int32_t>(u);
    }
    case NpyType::kInt64: {
      uint64_t u = 0;
      for (int k = 7; k >= 0; --k) u = u << 8 | p[k];
      return static_cast<int64_t>(u);
    }
  }
  return 0;
}

std::vector<uint8_t> NpyArray::to_uint8() const {
  if (type_ == NpyType::kUInt8) return std::vector<uint8_t>(data(), data() + size_);
  std::vector<uint8_t> out(static_cast<size_t>(size_));
  for (int64_t i = 0; i < size_; ++i) {
    const int64_t v = element(i);
    if (type_ == NpyType::kBool) {
      out[i] = v != 0;
      continue;
    }
    if (v < 0 || v > 255)
      fail(where_, ": value ", v, " at index ", i, " does not fit uint8 (dtype '", descr_, "')");
    out[i] = static_cast<uint8_t>(v);
  }
  return out;
}

std::vector<float> NpyArray::to_float32() const {
  if (type_ != NpyType::kFloat32 && type_ != NpyType::kFloat64)
    fail(where_, ": dtype '", descr_, "' is not a float array (expected <f4 or <f8)");
  std::vector<float> out(static_cast<size_t>(size_));
  for (int64_t i = 0; i < size_; ++i) {  // little-endian bytes, whatever the host's order
    const uint8_t* p = data() + i * item_bytes_;
    uint64_t u = 0;
    for (int k = int(item_bytes_) - 1; k >= 0; --k) u = u << 8 | p[k];
    if (type_ == NpyType::kFloat32) {
      const uint32_t bits = static_cast<uint32_t>(u);
      std::memcpy(&out[i], &bits, 4);
    } else {
      double d;
      std::memcpy(&d, &u, 8);
      out[i] = static_cast<float>(d);
    }
  }
  return out;
}

std::vector<int32_t> NpyArray::to_int32() const {
  std::vector<int32_t> out(static_cast<size_t>(size_));
  for (int64_t i = 0; i < size_; ++i) {
    const int64_t v = element(i);
    if (v < std::numeric_limits<int32_t>::min() || v > std::numeric_limits<int32_t>::max())
      fail(where_, ": value ", v, " at index ", i, " does not fit int32 (dtype '", descr_, "')");
    out[i] = static_cast<int32_t>(v);
  }
  return out;
}

}  // namespace munet
