/*
 * rwkv5.h — the one public C API of the rwkv-bot RWKV-5.2 inference engine.
 *
 * Mechanism only: load a `.pth` checkpoint, create contexts with N state
 * slots, run batched forward passes (sampling each item's next token when
 * asked), copy slot states in and out. Policy (which slots go into a step,
 * the sampling parameters and random draws, eviction, persistence) lives in
 * the caller (the TypeScript runtime).
 *
 * Threading: a model is immutable after rwkv5_model_load() returns and may be
 * shared by several contexts. A context is NOT thread-safe: make at most one
 * call on a given context at a time (any thread). rwkv5_model_free() and
 * rwkv5_context_free() may run on any thread; free every context of a model
 * before the model.
 *
 * Numbers: the model equations, state layout and tolerances are those of
 * docs/rwkv5.md. Every float crossing this API is IEEE fp32, host
 * byte order (little-endian on every supported platform).
 */
#ifndef RWKV5_H
#define RWKV5_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define RWKV5_API __declspec(dllexport)
#else
#define RWKV5_API __attribute__((visibility("default")))
#endif

/* Result and error codes. Every failing call fills an rwkv5_error with one of
 * these and a human-readable message naming the file or argument at fault. */
typedef enum rwkv5_status {
    RWKV5_OK = 0,
    /* The file could not be opened, read or mapped (missing, permissions). */
    RWKV5_ERR_IO = 1,
    /* Not a ZIP archive, truncated, or a ZIP feature `.pth` files never use. */
    RWKV5_ERR_BAD_ARCHIVE = 2,
    /* data.pkl holds an opcode or object structure outside docs/rwkv5.md §3.2. */
    RWKV5_ERR_BAD_PICKLE = 3,
    /* A tensor the architecture needs is absent. */
    RWKV5_ERR_MISSING_TENSOR = 4,
    /* An RWKV-4/5.0/5.1/6/7 (or unknown) checkpoint: only RWKV-5.2 is supported. */
    RWKV5_ERR_UNSUPPORTED_MODEL = 5,
    /* A tensor's shape, stride or storage range is inconsistent. */
    RWKV5_ERR_BAD_SHAPE = 6,
    /* A storage dtype the engine cannot use for that tensor. */
    RWKV5_ERR_BAD_DTYPE = 7,
    /* The load was aborted through the progress callback. */
    RWKV5_ERR_ABORTED = 8,
    /* A caller error: bad slot, bad token id, wrong buffer size, empty batch,
     * the same slot twice in one batch. Nothing was changed. */
    RWKV5_ERR_INVALID_ARGUMENT = 9,
    /* An allocation failed. */
    RWKV5_ERR_OUT_OF_MEMORY = 10,
    /* The requested backend is not available in this build or on this host. */
    RWKV5_ERR_BACKEND = 11,
    /* Anything else (a bug): the message says what. */
    RWKV5_ERR_INTERNAL = 12,
    /* A ZIP record's bytes do not match its CRC-32: the file is damaged even
     * though its size is right. The message names the tensor. */
    RWKV5_ERR_CHECKSUM = 13
} rwkv5_status;

/* Filled by every call that can fail. `message` is always NUL-terminated. */
typedef struct rwkv5_error {
    rwkv5_status code;
    char message[1024];
} rwkv5_error;

/* How the weights are held in memory for the forward pass. */
typedef enum rwkv5_weight_type {
    /* Every weight converted to fp32 at load: the reference path, matching the
     * goldens within docs/rwkv5.md §11's fp32 tolerances. Twice the memory of a
     * bf16 file and half the decode speed. */
    RWKV5_WEIGHTS_FP32 = 0,
    /* The fast path: matrices kept as 16-bit floats (the file's bf16/fp16;
     * an fp32 file is converted to bf16), fp32 accumulation; vectors, decay,
     * bonus, LayerNorm/GroupNorm parameters and the state stay fp32. */
    RWKV5_WEIGHTS_16BIT = 1,
    /* Matrices (head included) quantized once at load to int8 with one fp32
     * scale per block of 64 columns of a row (round to nearest, scale =
     * max |w| / 127), fp32 accumulation; everything else as the 16-bit path.
     * About half the memory of the 16-bit path and faster decode where decode
     * is bound by reading the weights. CPU and CUDA backends. */
    RWKV5_WEIGHTS_INT8 = 2,
    /* A request, never a loaded model's type: RWKV5_WEIGHTS_16BIT when its
     * weights fit the memory budget (rwkv5_model_params.memory_budget), else
     * RWKV5_WEIGHTS_INT8. rwkv5_model_info.weight_type says which. */
    RWKV5_WEIGHTS_AUTO = 3
} rwkv5_weight_type;

typedef enum rwkv5_backend {
    RWKV5_BACKEND_AUTO = 0, /* CUDA when built and a device is usable, else CPU */
    RWKV5_BACKEND_CPU = 1,
    RWKV5_BACKEND_CUDA = 2
} rwkv5_backend;

/* Storage dtype of the checkpoint's matrices as found in the file. */
typedef enum rwkv5_file_dtype {
    RWKV5_DTYPE_F32 = 0,
    RWKV5_DTYPE_F16 = 1,
    RWKV5_DTYPE_BF16 = 2,
    RWKV5_DTYPE_MIXED = 3
} rwkv5_file_dtype;

/* Called during the load with the fraction done (0..1, non-decreasing; 1 is
 * reported once at the end). Return false to abort the load, which then fails
 * with RWKV5_ERR_ABORTED. Called on the loading thread. */
typedef bool (*rwkv5_progress_callback)(float progress, void *user_data);

typedef struct rwkv5_model_params {
    rwkv5_weight_type weight_type;     /* default RWKV5_WEIGHTS_16BIT */
    rwkv5_backend backend;             /* default RWKV5_BACKEND_AUTO */
    int32_t device;                    /* CUDA device index, default 0 */
    int32_t n_threads;                 /* threads used by the load; 0 = all cores (default) */
    rwkv5_progress_callback progress_callback; /* may be NULL */
    void *progress_user_data;
    bool verify_crc;                   /* check every ZIP record's CRC-32 while loading;
                                          default true (false only to measure its cost) */
    uint64_t memory_budget;            /* bytes the weights may occupy on the backend they
                                          load to; 0 (default) = what is free there: host
                                          memory (MemAvailable, within the cgroup's limit)
                                          or the device's free memory, less a 512 MiB
                                          reserve for contexts. A load whose weights exceed
                                          it fails with RWKV5_ERR_OUT_OF_MEMORY before
                                          allocating anything; RWKV5_WEIGHTS_AUTO picks by it. */
} rwkv5_model_params;

typedef struct rwkv5_model_info {
    int32_t n_vocab;     /* V: emb.weight.shape[0] */
    int32_t n_embd;      /* C */
    int32_t n_layer;     /* L */
    int32_t n_head;      /* H */
    int32_t head_size;   /* N */
    int32_t dim_att;     /* A = H*N */
    int32_t dim_ffn;     /* F */
    int64_t n_params;    /* parameters in the checkpoint (ln0 included) */
    rwkv5_file_dtype file_dtype;
    rwkv5_weight_type weight_type;
    rwkv5_backend backend;         /* the backend actually in use (never AUTO) */
    uint64_t state_size;           /* bytes of one slot's state (fp32, docs/rwkv5.md §7) */
    uint64_t weight_bytes;         /* bytes of weights resident for the forward pass */
    uint64_t decode_bytes_per_step;/* weight bytes one decode step must read (all
                                      matrices + head + one embedding row): the
                                      numerator of the bandwidth roof */
    uint64_t memory_budget;        /* the budget the load was held to (the caller's, or
                                      the measured free memory less the reserve); 0 when
                                      nothing could be measured (no limit) */
    char model_id[65];             /* hex SHA-256 of the tensor directory (names,
                                      dtypes, shapes) and sampled tensor bytes:
                                      identifies the weights, not the file name */
} rwkv5_model_info;

typedef struct rwkv5_model rwkv5_model;
typedef struct rwkv5_context rwkv5_context;

RWKV5_API rwkv5_model_params rwkv5_model_default_params(void);

/* Loads an RWKV-5.2 `.pth` checkpoint (ZIP/Zip64, stored entries, pickle).
 * Returns NULL on failure with `err` filled (err may be NULL). The file is
 * memory-mapped and read once: the CPU backend copies the matrices into
 * huge-page memory in its packed layout (converted to fp32 for
 * RWKV5_WEIGHTS_FP32), the CUDA backend uploads them as fp16, so the file's
 * pages can be reclaimed by the OS afterwards. Blocks the calling thread. */
RWKV5_API rwkv5_model *rwkv5_model_load(const char *path, const rwkv5_model_params *params,
                                        rwkv5_error *err);
RWKV5_API void rwkv5_model_free(rwkv5_model *model);
RWKV5_API void rwkv5_model_get_info(const rwkv5_model *model, rwkv5_model_info *out);

typedef struct rwkv5_context_params {
    int32_t n_slots;          /* state slots, >= 1; default 1 */
    int32_t n_threads;        /* compute threads; 0 = all cores (default) */
    int32_t max_batch_tokens; /* most tokens in one rwkv5_decode, summed over
                                 items; bounds scratch memory; default 512 */
} rwkv5_context_params;

RWKV5_API rwkv5_context_params rwkv5_context_default_params(void);

/* Creates a context whose slots all hold the zero (fresh) state. NULL on
 * failure with `err` filled. */
RWKV5_API rwkv5_context *rwkv5_context_init(rwkv5_model *model, const rwkv5_context_params *params,
                                            rwkv5_error *err);
RWKV5_API void rwkv5_context_free(rwkv5_context *ctx);

/* Bytes of one slot's state: n_layer * (2*n_embd + n_head*head_size^2) * 4. */
RWKV5_API size_t rwkv5_state_size(const rwkv5_context *ctx);
RWKV5_API int32_t rwkv5_n_slots(const rwkv5_context *ctx);

/* Copies a slot's state out / in, fp32 in docs/rwkv5.md §7 layout (per layer:
 * att_x[C], S[H][N][N], ffn_x[C]). `size` must equal rwkv5_state_size().
 * Return RWKV5_OK or RWKV5_ERR_INVALID_ARGUMENT (nothing changed). */
RWKV5_API rwkv5_status rwkv5_slot_get_state(rwkv5_context *ctx, int32_t slot, float *dst, size_t size,
                                            rwkv5_error *err);
RWKV5_API rwkv5_status rwkv5_slot_set_state(rwkv5_context *ctx, int32_t slot, const float *src,
                                            size_t size, rwkv5_error *err);
/* Back to the zero state. */
RWKV5_API rwkv5_status rwkv5_slot_reset(rwkv5_context *ctx, int32_t slot, rwkv5_error *err);

/* What logits an item wants from a decode. */
typedef enum rwkv5_logits_mode {
    RWKV5_LOGITS_NONE = 0, /* none (a prefill chunk that is not the last) */
    RWKV5_LOGITS_LAST = 1, /* one row: after the item's last token */
    RWKV5_LOGITS_ALL = 2   /* one row per token, in token order */
} rwkv5_logits_mode;

/* How a token is drawn from a logits row: ChatRWKV's sample_logits with its
 * repetition penalties (docs/rwkv5.md §9), step for step as the TypeScript
 * Sampler does it (src/inference/Sampler.ts, the oracle of the tests).
 *
 * Each slot keeps penalty counts of the tokens sampled in it since its
 * reply began (`new_reply`). They are per-reply sampling state, not model
 * state: rwkv5_slot_get_state() does not export them (a checkpoint is taken
 * between replies, never inside one, so it has none to keep, and the state
 * format of docs/rwkv5.md §7 stays the same on every backend); setting or
 * resetting a slot's state clears them. */
typedef struct rwkv5_sampling_params {
    double temperature;       /* >= 0, finite; 0 = greedy (the first highest logit) */
    double top_p;             /* [0, 1]; the nucleus cut, computed at temperature 1 */
    int32_t top_k;            /* >= 0; keep at most this many ids after the cut; 0 = no limit */
    double presence_penalty;  /* finite; subtracted from the logit of every counted id */
    double frequency_penalty; /* finite; times the id's (decayed) count, subtracted too */
    double penalty_decay;     /* [0, 1]; every count is multiplied by it after each sample */
    const int32_t *banned;    /* n_banned ids in [0, n_vocab) whose logit becomes -inf */
    int32_t n_banned;
    const int32_t *uncounted; /* n_uncounted ids recorded with count 0 instead of 1 when
                                 sampled (presence still applies to them) */
    int32_t n_uncounted;
    double uniform;           /* the caller's random draw in [0, 1): the engine has no
                                 generator of its own, so a seeded caller replays exactly */
    bool new_reply;           /* clear the slot's penalty counts before this sample */
} rwkv5_sampling_params;

/* One item of a batch: a slot advanced by a prefill chunk or by one token.
 * Items of one batch must name distinct slots. */
typedef struct rwkv5_batch_item {
    int32_t slot;
    const int32_t *tokens;  /* n_tokens ids, each in [0, n_vocab) */
    int32_t n_tokens;       /* >= 1 */
    rwkv5_logits_mode logits;
    /* NULL, or: sample one token from the row after the item's last token,
     * read back with rwkv5_get_token(). The row is computed either way; it
     * leaves the engine only when `logits` asks for it (as the raw logits,
     * before penalties and bans). */
    const rwkv5_sampling_params *sampling;
} rwkv5_batch_item;

/* Runs ONE batched forward pass over all items: every matrix is read once for
 * the whole batch. Item i's slot state advances by its tokens exactly as if
 * they were fed one by one (RNN and sequence mode are the same function).
 * Returns RWKV5_OK; or RWKV5_ERR_INVALID_ARGUMENT with nothing changed (an
 * item's slot out of range or repeated, a token out of range, n_tokens < 1,
 * the total over max_batch_tokens, bad sampling parameters). The logits and
 * sampled tokens stay readable through rwkv5_get_logits() and
 * rwkv5_get_token() until the next rwkv5_decode on this context. */
RWKV5_API rwkv5_status rwkv5_decode(rwkv5_context *ctx, const rwkv5_batch_item *items, int32_t n_items,
                                    rwkv5_error *err);

/* Logits of item `item` of the last rwkv5_decode: a pointer to `*n_rows` rows
 * of n_vocab floats (row-major), or NULL with *n_rows = 0 when the item asked
 * for none. Owned by the context. */
RWKV5_API const float *rwkv5_get_logits(const rwkv5_context *ctx, int32_t item, int32_t *n_rows);

/* The token sampled for item `item` of the last rwkv5_decode, or -1 when it
 * asked for none. */
RWKV5_API int32_t rwkv5_get_token(const rwkv5_context *ctx, int32_t item);

/* Samples one token per row from caller-given logits (n_rows rows of n_vocab
 * floats), row i with params[i] and the penalty counts of slots[i] (distinct),
 * exactly as rwkv5_decode samples from the model's rows, on the context's
 * backend: for tests and tools. tokens receives n_rows ids. Returns RWKV5_OK
 * or RWKV5_ERR_INVALID_ARGUMENT (nothing changed). */
RWKV5_API rwkv5_status rwkv5_sample_logits(rwkv5_context *ctx, const float *logits, int32_t n_rows,
                                           const int32_t *slots, const rwkv5_sampling_params *params,
                                           int32_t *tokens, rwkv5_error *err);

/* Capabilities. */
RWKV5_API bool rwkv5_supports_cuda(void);
/* A static string such as "cpu: avx512f=1 avx2=1 fma=1 f16c=1 threads=2; cuda: 0 devices". */
RWKV5_API const char *rwkv5_system_info(void);
/* The SIMD level the CPU kernels dispatch to: "avx512", "avx2" or "scalar". */
RWKV5_API const char *rwkv5_cpu_kernel(void);

/* Measures the host's memory read bandwidth in bytes/s: `n_threads` threads
 * (0 = all cores) stream-read a `bytes`-sized buffer `reps` times with the same
 * vector loads the kernels use; the best rep is returned. For benchmarks
 * (the decode roof); returns 0 on allocation failure. */
RWKV5_API double rwkv5_measure_read_bandwidth(size_t bytes, int32_t n_threads, int32_t reps);

#ifdef __cplusplus
}
#endif

#endif /* RWKV5_H */
