// Test fixture for runtime/src/bpf/tests.rs, in the shape ferrotrace's code
// generator emits: legacy `maps` section, one program per section, a .text
// subprogram. Rebuild with:
//   clang -target bpf -O2 -g -c fixture.c -o fixture.o
typedef unsigned int u32;
typedef unsigned long long u64;

struct bpf_map_def {
    u32 type, key_size, value_size, max_entries, map_flags, id, pinning;
};

struct bpf_map_def __attribute__((section("maps"), used)) events = { 27, 0, 0, 65536, 0, 0, 0 };
struct bpf_map_def __attribute__((section("maps"), used)) counts = { 1, 8, 8, 64, 0, 0, 0 };
struct bpf_map_def __attribute__((section("maps"), used)) pc = { 6, 4, 8, 1, 0, 0, 0 };

static void *(*bpf_map_lookup_elem)(void *map, const void *key) = (void *)1;
static long (*bpf_map_update_elem)(void *map, const void *key, const void *value, u64 flags) = (void *)2;
static long (*bpf_ringbuf_output)(void *ringbuf, void *data, u64 size, u64 flags) = (void *)130;

__attribute__((noinline)) u64 answer(u64 x) {
    return x * 2 + 40;
}

__attribute__((section("raw_tracepoint/p0"), used)) int p0(void *ctx) {
    u64 rec[2] = { 0, answer(1) };
    bpf_ringbuf_output(&events, rec, sizeof rec, 0);
    u64 k = 7, v = 99;
    bpf_map_update_elem(&counts, &k, &v, 0);
    u32 z = 0;
    u64 *p = bpf_map_lookup_elem(&pc, &z);
    if (p)
        *p += 5;
    return 0;
}

__attribute__((section("tracepoint/p1"), used)) int p1(void *ctx) {
    u64 k = 1, one = 1;
    u64 *p = bpf_map_lookup_elem(&counts, &k);
    if (p)
        __sync_fetch_and_add(p, 1);
    else
        bpf_map_update_elem(&counts, &k, &one, 0);
    return 0;
}

// Rejected by the verifier: the lookup result is used without a NULL check.
__attribute__((section("raw_tracepoint/p2"), used)) int p2(void *ctx) {
    u64 k = 3;
    u64 *p = bpf_map_lookup_elem(&counts, &k);
    return *p; // BAD_LINE
}

char _license[] __attribute__((section("license"), used)) = "GPL";
