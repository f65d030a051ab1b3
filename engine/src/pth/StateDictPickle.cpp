#include "pth/StateDictPickle.h"

#include <cstring>
#include <unordered_map>

#include "Error.h"

namespace rwkv5 {
namespace {

// Every value lives in one arena and refers to others by index: a hostile
// pickle can then build cycles or million-deep nesting without any recursion
// (and so without a stack overflow) when the values are freed.
using Ref = uint32_t;

enum class Kind { None, Bool, Int, Float, String, Tuple, List, Dict, Global, Storage, Tensor };

struct Value {
    Kind kind;
    int64_t integer = 0;       // Int, Bool
    std::string text;          // String; Global "module.name"; Storage key
    std::vector<Ref> items;    // Tuple, List; Dict as key, value, key, value...
    Ref storage = 0;           // Tensor
    PickledTensor tensor;      // Tensor (without name); Storage: type and numel
};

// A state dict needs about 15 values per tensor; this bounds the memory a
// hostile pickle can make us allocate to a few hundred MB.
constexpr size_t kMaxValues = size_t(1) << 21;

const char *kind_name(Kind kind) {
    switch (kind) {
        case Kind::None: return "None";
        case Kind::Bool: return "bool";
        case Kind::Int: return "int";
        case Kind::Float: return "float";
        case Kind::String: return "str";
        case Kind::Tuple: return "tuple";
        case Kind::List: return "list";
        case Kind::Dict: return "dict";
        case Kind::Global: return "global";
        case Kind::Storage: return "storage";
        case Kind::Tensor: return "tensor";
    }
    return "?";
}

class Interpreter {
public:
    Interpreter(const uint8_t *data, uint64_t size, const std::string &where)
        : data_(data), size_(size), where_(where) {}

    std::vector<PickledTensor> run();

private:
    [[noreturn]] void fail(const std::string &what) const {
        throw Error(RWKV5_ERR_BAD_PICKLE, where_ + ": " + what + " (opcode 0x" + hex(opcode_) + " at byte " +
                                              std::to_string(opcode_pos_) + ")");
    }
    static std::string hex(uint8_t byte) {
        static const char kHex[] = "0123456789abcdef";
        return {kHex[byte >> 4], kHex[byte & 15]};
    }

    const uint8_t *take(uint64_t n) {
        if (n > size_ - pos_) fail("truncated pickle: needs " + std::to_string(n) + " more bytes");
        const uint8_t *p = data_ + pos_;
        pos_ += n;
        return p;
    }
    uint64_t read_le(int n) {
        const uint8_t *p = take(n);
        uint64_t v = 0;
        for (int i = n - 1; i >= 0; i--) v = (v << 8) | p[i];
        return v;
    }
    std::string read_line() {
        const void *nl = std::memchr(data_ + pos_, '\n', size_ - pos_);
        if (!nl) fail("truncated pickle: unterminated GLOBAL name");
        const uint64_t len = static_cast<const uint8_t *>(nl) - (data_ + pos_);
        std::string line(reinterpret_cast<const char *>(take(len)), len);
        pos_++;
        return line;
    }

    Ref make(Kind kind) {
        if (values_.size() >= kMaxValues) fail("too many objects for a state dict");
        values_.emplace_back();
        values_.back().kind = kind;
        return Ref(values_.size() - 1);
    }
    Ref make_int(int64_t v) {
        const Ref r = make(Kind::Int);
        values_[r].integer = v;
        return r;
    }
    Ref make_string(std::string text) {
        const Ref r = make(Kind::String);
        values_[r].text = std::move(text);
        return r;
    }

    void push(Ref r) { stack_.push_back(r); }
    Ref pop() {
        if (stack_.size() <= floor()) fail("stack underflow");
        const Ref r = stack_.back();
        stack_.pop_back();
        return r;
    }
    Ref &top() {
        if (stack_.size() <= floor()) fail("stack underflow");
        return stack_.back();
    }
    size_t floor() const { return marks_.empty() ? 0 : marks_.back(); }
    // Pops everything above the last MARK, and the mark.
    std::vector<Ref> pop_mark() {
        if (marks_.empty()) fail("no MARK on the stack");
        const size_t mark = marks_.back();
        marks_.pop_back();
        std::vector<Ref> items(stack_.begin() + mark, stack_.end());
        stack_.resize(mark);
        return items;
    }
    Ref make_tuple(std::vector<Ref> items) {
        const Ref r = make(Kind::Tuple);
        values_[r].items = std::move(items);
        return r;
    }
    Value &expect(Ref r, Kind kind, const char *what) {
        if (values_[r].kind != kind) {
            fail(std::string(what) + " is a " + kind_name(values_[r].kind) + ", expected a " + kind_name(kind));
        }
        return values_[r];
    }
    int64_t expect_int(Ref r, const char *what) { return expect(r, Kind::Int, what).integer; }

    void memo_put(uint64_t index) { memo_[index] = top(); }
    Ref memo_get(uint64_t index) {
        const auto it = memo_.find(index);
        if (it == memo_.end()) fail("memo index " + std::to_string(index) + " was never stored");
        return it->second;
    }

    Ref persistent_load(Ref pid);
    Ref reduce(Ref callable, Ref args);
    Ref rebuild_tensor(const std::vector<Ref> &args);
    std::vector<int64_t> int_tuple(Ref r, const char *what);
    std::vector<PickledTensor> collect(Ref root);

    const uint8_t *data_;
    uint64_t size_;
    const std::string &where_;
    uint64_t pos_ = 0;
    uint64_t opcode_pos_ = 0;
    uint8_t opcode_ = 0;
    std::vector<Value> values_;
    std::vector<Ref> stack_;
    std::vector<size_t> marks_;
    std::unordered_map<uint64_t, Ref> memo_;
};

std::vector<PickledTensor> Interpreter::run() {
    values_.reserve(1024);
    for (;;) {
        opcode_pos_ = pos_;
        if (pos_ >= size_) fail("truncated pickle: no STOP opcode");
        opcode_ = data_[pos_++];
        switch (opcode_) {
            case 0x80: {  // PROTO
                const uint64_t proto = read_le(1);
                if (proto < 2 || proto > 5) fail("unsupported pickle protocol " + std::to_string(proto));
                break;
            }
            case 0x95:  // FRAME: a length prefix for buffered readers; the data follows inline.
                take(8);
                break;
            case 'c': {  // GLOBAL
                std::string module = read_line();
                std::string name = read_line();
                const Ref r = make(Kind::Global);
                values_[r].text = module + "." + name;
                push(r);
                break;
            }
            case 0x93: {  // STACK_GLOBAL
                const Ref name = pop(), module = pop();
                const std::string qualified =
                    expect(module, Kind::String, "STACK_GLOBAL module").text + "." +
                    expect(name, Kind::String, "STACK_GLOBAL name").text;
                const Ref r = make(Kind::Global);
                values_[r].text = qualified;
                push(r);
                break;
            }
            case 'q': memo_put(read_le(1)); break;    // BINPUT
            case 'r': memo_put(read_le(4)); break;    // LONG_BINPUT
            case 0x94: memo_put(memo_.size()); break;  // MEMOIZE
            case 'h': push(memo_get(read_le(1))); break;  // BINGET
            case 'j': push(memo_get(read_le(4))); break;  // LONG_BINGET
            case '(': marks_.push_back(stack_.size()); break;  // MARK
            case ')': push(make_tuple({})); break;  // EMPTY_TUPLE
            case 't': push(make_tuple(pop_mark())); break;  // TUPLE
            case 0x85: push(make_tuple({pop()})); break;  // TUPLE1
            case 0x86: {  // TUPLE2
                const Ref b = pop(), a = pop();
                push(make_tuple({a, b}));
                break;
            }
            case 0x87: {  // TUPLE3
                const Ref c = pop(), b = pop(), a = pop();
                push(make_tuple({a, b, c}));
                break;
            }
            case '}': push(make(Kind::Dict)); break;  // EMPTY_DICT
            case ']': push(make(Kind::List)); break;  // EMPTY_LIST
            case 's': {  // SETITEM
                const Ref value = pop(), key = pop();
                auto &items = expect(top(), Kind::Dict, "SETITEM target").items;
                items.push_back(key);
                items.push_back(value);
                break;
            }
            case 'u': {  // SETITEMS
                std::vector<Ref> pairs = pop_mark();
                if (pairs.size() % 2 != 0) fail("SETITEMS with an odd number of items");
                auto &items = expect(top(), Kind::Dict, "SETITEMS target").items;
                items.insert(items.end(), pairs.begin(), pairs.end());
                break;
            }
            case 'a': {  // APPEND
                const Ref value = pop();
                expect(top(), Kind::List, "APPEND target").items.push_back(value);
                break;
            }
            case 'e': {  // APPENDS
                std::vector<Ref> values = pop_mark();
                auto &items = expect(top(), Kind::List, "APPENDS target").items;
                items.insert(items.end(), values.begin(), values.end());
                break;
            }
            case 'X': {  // BINUNICODE
                const uint64_t len = read_le(4);
                push(make_string(std::string(reinterpret_cast<const char *>(take(len)), len)));
                break;
            }
            case 0x8c: {  // SHORT_BINUNICODE
                const uint64_t len = read_le(1);
                push(make_string(std::string(reinterpret_cast<const char *>(take(len)), len)));
                break;
            }
            case 'K': push(make_int(int64_t(read_le(1)))); break;  // BININT1
            case 'M': push(make_int(int64_t(read_le(2)))); break;  // BININT2
            case 'J': push(make_int(int64_t(int32_t(uint32_t(read_le(4)))))); break;  // BININT
            case 0x8a: {  // LONG1: little-endian two's complement of n bytes
                const uint64_t n = read_le(1);
                if (n > 8) fail("integer of " + std::to_string(n) + " bytes is too large");
                uint64_t v = n == 0 ? 0 : read_le(int(n));
                if (n > 0 && n < 8 && (v >> (8 * n - 1)) & 1) v |= ~uint64_t(0) << (8 * n);
                push(make_int(int64_t(v)));
                break;
            }
            case 'G':  // BINFLOAT: only occurs in metadata, whose value is never read
                take(8);
                push(make(Kind::Float));
                break;
            case 'N': push(make(Kind::None)); break;  // NONE
            case 0x88:  // NEWTRUE
            case 0x89: {  // NEWFALSE
                const Ref r = make(Kind::Bool);
                values_[r].integer = opcode_ == 0x88;
                push(r);
                break;
            }
            case 'Q': {  // BINPERSID
                const Ref pid = pop();
                push(persistent_load(pid));
                break;
            }
            case 'R': {  // REDUCE
                const Ref args = pop(), callable = pop();
                push(reduce(callable, args));
                break;
            }
            case 'b': {  // BUILD: only sets module metadata on the root dict or state on a tensor; ignored.
                pop();
                const Kind kind = values_[top()].kind;
                if (kind != Kind::Dict && kind != Kind::Tensor) {
                    fail(std::string("BUILD on a ") + kind_name(kind) + " (only dicts and tensors are expected)");
                }
                break;
            }
            case '.': {  // STOP
                const Ref root = pop();
                return collect(root);
            }
            default: {
                std::string shown;
                if (opcode_ >= 0x20 && opcode_ < 0x7f) shown = std::string(" ('") + char(opcode_) + "')";
                throw Error(RWKV5_ERR_BAD_PICKLE, where_ + ": unsupported pickle opcode 0x" + hex(opcode_) + shown +
                                                      " at byte " + std::to_string(opcode_pos_) +
                                                      "; not a torch.save state dict, or a corrupt one");
            }
        }
    }
}

Ref Interpreter::persistent_load(Ref pid) {
    // ('storage', <torch.XStorage global>, key, location, numel)
    const Value &tuple = expect(pid, Kind::Tuple, "persistent id");
    if (tuple.items.size() < 5 || values_[tuple.items[0]].kind != Kind::String ||
        values_[tuple.items[0]].text != "storage") {
        fail("persistent id is not a ('storage', type, key, location, numel) tuple");
    }
    const std::vector<Ref> items = tuple.items;
    const std::string type = expect(items[1], Kind::Global, "storage type").text;
    if (type.rfind("torch.", 0) != 0) fail("storage type " + type + " is not a torch storage class");
    std::string key;
    if (values_[items[2]].kind == Kind::Int) {
        key = std::to_string(values_[items[2]].integer);
    } else {
        key = expect(items[2], Kind::String, "storage key").text;
    }
    const int64_t numel = expect_int(items[4], "storage size");
    if (numel < 0) fail("negative storage size");
    const Ref r = make(Kind::Storage);
    values_[r].text = key;
    values_[r].tensor.storage_key = key;
    values_[r].tensor.storage_type = type.substr(6);
    values_[r].tensor.storage_numel = uint64_t(numel);
    return r;
}

std::vector<int64_t> Interpreter::int_tuple(Ref r, const char *what) {
    const std::vector<Ref> items = expect(r, Kind::Tuple, what).items;
    std::vector<int64_t> ints;
    for (const Ref item : items) ints.push_back(expect_int(item, what));
    return ints;
}

Ref Interpreter::rebuild_tensor(const std::vector<Ref> &args) {
    // _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
    if (args.size() < 4) fail("_rebuild_tensor_v2 with " + std::to_string(args.size()) + " arguments");
    const Ref storage = args[0];
    expect(storage, Kind::Storage, "tensor storage");
    const int64_t offset = expect_int(args[1], "tensor storage offset");
    if (offset < 0) fail("negative tensor storage offset");
    std::vector<int64_t> shape = int_tuple(args[2], "tensor size");
    std::vector<int64_t> stride = int_tuple(args[3], "tensor stride");
    if (shape.size() != stride.size()) fail("tensor size and stride differ in length");
    for (const int64_t dim : shape) {
        if (dim < 0) fail("negative tensor dimension");
    }
    const Ref r = make(Kind::Tensor);
    Value &v = values_[r];
    v.tensor = values_[storage].tensor;
    v.tensor.storage_offset = uint64_t(offset);
    v.tensor.shape = std::move(shape);
    v.tensor.stride = std::move(stride);
    return r;
}

Ref Interpreter::reduce(Ref callable, Ref args_ref) {
    const std::string name = expect(callable, Kind::Global, "REDUCE callable").text;
    const std::vector<Ref> args = expect(args_ref, Kind::Tuple, "REDUCE arguments").items;
    if (name == "collections.OrderedDict") {
        if (!args.empty()) fail("OrderedDict called with arguments");
        return make(Kind::Dict);
    }
    if (name == "torch._utils._rebuild_tensor_v2") return rebuild_tensor(args);
    // nn.Parameter(tensor, requires_grad, hooks): the tensor is all we need.
    if (name == "torch._utils._rebuild_parameter") {
        if (args.empty()) fail("_rebuild_parameter without arguments");
        expect(args[0], Kind::Tensor, "_rebuild_parameter data");
        return args[0];
    }
    fail("the pickle calls " + name + ", which a state dict never needs");
}

std::vector<PickledTensor> Interpreter::collect(Ref root) {
    const Value &dict = expect(root, Kind::Dict, "the pickled root object");
    std::vector<PickledTensor> tensors;
    std::unordered_map<std::string, size_t> index;
    size_t skipped = 0;
    for (size_t i = 0; i + 1 < dict.items.size(); i += 2) {
        const Value &key = values_[dict.items[i]];
        const Value &value = values_[dict.items[i + 1]];
        if (key.kind != Kind::String || value.kind != Kind::Tensor) {
            skipped++;
            continue;
        }
        PickledTensor tensor = value.tensor;
        tensor.name = key.text;
        // A repeated key replaces the earlier value, as in Python.
        const auto [it, inserted] = index.emplace(key.text, tensors.size());
        if (inserted) {
            tensors.push_back(std::move(tensor));
        } else {
            tensors[it->second] = std::move(tensor);
        }
    }
    if (tensors.empty()) {
        fail("the root dict holds no tensors (" + std::to_string(skipped) +
             " other entries); a full training checkpoint rather than a state dict?");
    }
    return tensors;
}

}  // namespace

std::vector<PickledTensor> read_state_dict_pickle(const uint8_t *data, uint64_t size, const std::string &where) {
    return Interpreter(data, size, where).run();
}

}  // namespace rwkv5
