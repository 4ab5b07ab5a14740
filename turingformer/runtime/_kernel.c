/* The compiled exact inner step of the fast decoder (turingformer/runtime/compiled.py).
 *
 * Plain C99 + GCC builtins (__int128, __builtin_*_overflow); no Python headers: the library is
 * loaded with ctypes. Generic over the weights, like runtime/fast.py: it runs any decoder of
 * the shape of runtime/layer.py (self-attention, optional cross-attention, optional σ-net FFN
 * per layer, an output σ-net, a positional encoding of powers k^e) and knows nothing about what
 * the weights mean.
 *
 * Exactness. Every value is a rational held in int64 with |numerator| and denominator below
 * LIM = 2^62 (so a sum of two never overflows and |x| is always representable); every product,
 * sum and lcm is checked with __builtin_*_overflow, and every result is checked against LIM.
 * Attention dot products are computed exactly in __int128 (products of two values below 2^62
 * are below 2^124) and compared exactly by 192-bit cross-multiplication. Floating point only
 * *prunes* the key index, through bounds that are proved to be conservative (see decide()):
 * a pruned key provably scores worse than a key scored exactly. When any check fails the
 * position is abandoned with nothing committed (status TK_UNPROVABLE) and Python decodes it —
 * and every later one — on the unbounded exact path (fmpq). Nothing is ever rounded or wrapped.
 *
 * One position: h = y + pos(i+1); per layer p = h + Att(h) over the keys 0..i (the current
 * one *pending* until the position commits), a = p + Cross(p), z = a + FFN(a); y' = F(z).
 * The self-attention decision uses an exact index over the keys (docstring 6. of fast.py):
 * keys grouped by the exact slope of their first two coordinates, groups sorted by slope,
 * members of a group linked by increasing |λ|, per group max |R k| and the members of least
 * |R k| (one rest coordinate).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

typedef int64_t i64;
typedef int32_t i32;
typedef uint64_t u64;
typedef __int128 i128;
typedef unsigned __int128 u128;

#define TK_ABI 1
#define LIM ((i64)1 << 62)

enum { TK_DONE = 0, TK_STOPPED = 1, TK_UNPROVABLE = 2, TK_FULL = 3, TK_NOMEM = -1 };

/* ----------------------------------------------------------------------------- the program */
typedef struct {            /* x -> x W + b with W' = L·W and b' = L·b integers */
    i32 n_rows;             /* input coordinates read (rows of W with a non-zero entry) */
    const i32 *row_in;      /* [n_rows] */
    const i32 *row_ptr;     /* [n_rows + 1] */
    const i32 *out;         /* [nnz] output index of each weight */
    const i64 *w;           /* [nnz] */
    i32 n_bias;
    const i32 *bias_out;
    const i64 *bias;
    i64 L;
    i32 n_out;
} Map;

typedef struct {            /* a σ-net: maps[0 .. depth-1], σ between them */
    i32 depth;
    const Map *maps;
} Net;

typedef struct {
    i32 m;                  /* support size: query and key outputs are 0 .. m-1 */
    i32 vw;                 /* value width: value outputs are 0 .. vw-1 */
    const i32 *value_coord; /* [vw] residual coordinate of each value column */
    Map query, key, value;
} Attn;

typedef struct {
    i32 has_self;           /* 0: the value map is zero (every position ties, output 0) */
    Attn self;
    i32 has_cross;
    Attn cross;
    i32 n_enc;              /* encoder rows of the cross-attention */
    const i64 *enc_kn, *enc_kd, *enc_vn, *enc_vd;   /* [n_enc*m], [n_enc], [n_enc*vw], [n_enc] */
    i32 has_ffn;
    Net ffn;
} Layer;

typedef struct {
    i32 d;
    i32 clip;               /* score -min(|x|, 1) instead of -|x| */
    i32 n_pos;
    const i32 *pos_coord, *pos_power;
    i32 n_layers;
    const Layer *layers;
    Net output;
    const i64 *seed_n, *seed_d;
    i32 n_stop;             /* stop after an output that is zero on every one of these */
    const i32 *stop;
} Program;

/* what can be captured, per layer (and the output net as layer n_layers) */
enum { C_RESID_PRE, C_ATTN_OUT, C_RESID_MID, C_CROSS_OUT, C_RESID_CROSS, C_FFN_OUT, C_RESID_POST,
       C_ATTN_WINNERS, C_CROSS_WINNERS, C_ATTN_QUERY, C_CROSS_QUERY, C_HIDDEN };
#define MAX_HIDDEN 8
#define SLOTS_PER_LAYER (C_HIDDEN + MAX_HIDDEN)   /* the hidden layers of a net follow C_HIDDEN */

typedef struct {            /* where one run writes its rows */
    i64 rows;               /* capacity in rows */
    i64 *yn, *yd;           /* [rows*d] y_{i+1} */
    const i32 *slot;        /* [(n_layers+1)*SLOTS_PER_LAYER]: capture slot or -1 (NULL: none) */
    i64 **num, **den;       /* per slot: vectors: numerators and denominators [rows*width];
                               common-denominator rows (queries, hidden layers): numerators
                               [rows*width], denominators [rows]; winners: num = [rows*2] of
                               (start in win, count), count -1 for "every key" */
    i64 *win;               /* the winners of every row, one after the other */
    i64 win_cap, win_used;
} Out;

/* ----------------------------------------------------------------------------- arithmetic */
static inline int fits(i64 x) { return x < LIM && x > -LIM; }
static inline u64 uabs(i64 x) { return x < 0 ? (u64)(-x) : (u64)x; }

static u64 gcd_u(u64 a, u64 b) {
    if (!a) return b;
    if (!b) return a;
    int s = __builtin_ctzll(a | b);
    a >>= __builtin_ctzll(a);
    do {
        b >>= __builtin_ctzll(b);
        if (a > b) { u64 t = a; a = b; b = t; }
        b -= a;
    } while (b);
    return a << s;
}

/* lcm of two positive denominators, checked */
static inline int lcm_ok(i64 a, i64 b, i64 *r) {
    if (a == b || b == 1) { *r = a; return 1; }
    if (a == 1) { *r = b; return 1; }
    if (b % a == 0) { *r = b; return 1; }
    if (a % b == 0) { *r = a; return 1; }
    i64 g = (i64)gcd_u((u64)a, (u64)b);
    return !__builtin_mul_overflow(a / g, b, r) && fits(*r);
}

/* n/d in lowest terms (d > 0), checked against LIM */
static inline int reduce(i64 n, i64 d, i64 *rn, i64 *rd) {
    if (n == 0) { *rn = 0; *rd = 1; return 1; }
    if (d != 1) {
        i64 g = (i64)gcd_u(uabs(n), (u64)d);
        if (g != 1) { n /= g; d /= g; }
    }
    *rn = n; *rd = d;
    return fits(n) && fits(d);
}

/* a/b + c/d, reduced */
static inline int rat_add(i64 a, i64 b, i64 c, i64 d, i64 *rn, i64 *rd) {
    if (c == 0) { *rn = a; *rd = b; return 1; }
    if (a == 0) { *rn = c; *rd = d; return 1; }
    i64 n, den;
    if (b == d) {
        if (__builtin_add_overflow(a, c, &n)) return 0;
        den = b;
    } else {
        i64 g = (i64)gcd_u((u64)b, (u64)d), x, y;
        if (__builtin_mul_overflow(a, d / g, &x) || __builtin_mul_overflow(c, b / g, &y) ||
            __builtin_add_overflow(x, y, &n) || __builtin_mul_overflow(b / g, d, &den)) return 0;
    }
    return reduce(n, den, rn, rd);
}

/* |x| compared as rationals: a/b vs c/d (all non-negative, b, d > 0): -1, 0, 1 */
static inline int rat_cmp(u64 a, u64 b, u64 c, u64 d) {
    u128 x = (u128)a * d, y = (u128)c * b;
    return x < y ? -1 : x > y;
}

/* ----------------------------------------------------------------------------- maps */
/* acc[0..n_out) / DL = x W + b for a residual x of per-coordinate rationals (xn/xd) */
static int map_res(const Map *M, const i64 *xn, const i64 *xd, i64 *acc, i64 *DL) {
    i64 D = 1;
    for (i32 r = 0; r < M->n_rows; r++) {
        i32 c = M->row_in[r];
        if (xn[c] && xd[c] != 1 && !lcm_ok(D, xd[c], &D)) return 0;
    }
    memset(acc, 0, sizeof(i64) * M->n_out);
    for (i32 k = 0; k < M->n_bias; k++)
        if (__builtin_mul_overflow(D, M->bias[k], &acc[M->bias_out[k]])) return 0;
    for (i32 r = 0; r < M->n_rows; r++) {
        i32 c = M->row_in[r];
        i64 x = xn[c], X, t;
        if (!x) continue;
        if (__builtin_mul_overflow(x, D / xd[c], &X)) return 0;
        for (i32 k = M->row_ptr[r]; k < M->row_ptr[r + 1]; k++)
            if (__builtin_mul_overflow(X, M->w[k], &t) || __builtin_add_overflow(acc[M->out[k]], t, &acc[M->out[k]]))
                return 0;
    }
    return !__builtin_mul_overflow(D, M->L, DL) && fits(*DL);
}

/* acc / DL = x W + b for x = hn / D (a common denominator) */
static int map_hid(const Map *M, const i64 *hn, i64 D, i64 *acc, i64 *DL) {
    memset(acc, 0, sizeof(i64) * M->n_out);
    for (i32 k = 0; k < M->n_bias; k++)
        if (__builtin_mul_overflow(D, M->bias[k], &acc[M->bias_out[k]])) return 0;
    for (i32 r = 0; r < M->n_rows; r++) {
        i64 x = hn[M->row_in[r]], t;
        if (!x) continue;
        for (i32 k = M->row_ptr[r]; k < M->row_ptr[r + 1]; k++)
            if (__builtin_mul_overflow(x, M->w[k], &t) || __builtin_add_overflow(acc[M->out[k]], t, &acc[M->out[k]]))
                return 0;
    }
    return !__builtin_mul_overflow(D, M->L, DL) && fits(*DL);
}

/* a common-denominator row acc/DL divided by g = gcd(DL, acc...), checked */
static int reduce_row(i64 *acc, i32 n, i64 *DL) {
    u64 g = (u64)*DL;
    for (i32 k = 0; k < n && g != 1; k++) g = gcd_u(g, uabs(acc[k]));
    if (g > 1) {
        for (i32 k = 0; k < n; k++) acc[k] /= (i64)g;
        *DL /= (i64)g;
    }
    for (i32 k = 0; k < n; k++) if (!fits(acc[k])) return 0;
    return fits(*DL);
}

/* ----------------------------------------------------------------------------- the caches */
typedef struct {
    i64 n, cap;             /* committed keys */
    i32 m, vw, p, r;        /* support, value width, projection (2 or 0), rest */
    i64 *kn, *kd;           /* keys: [cap*m] numerators, [cap] denominators */
    i64 *vn, *vd;           /* values: [cap*vw], [cap] or NULL while every denominator is 1 */
    i32 *next, *rnext;      /* members by increasing |λ|; members of least |R k| (r == 1) */
    i64 *sn, *sd;           /* [vw] sum of the values 0 .. sum_n-1 */
    i64 sum_n;
    /* the index */
    i32 G, gcap;
    i64 *gtn, *gtd;         /* slope of a finite group (td > 0) */
    i32 *ghead, *gminhead;
    i64 *grn, *grd;         /* [gcap*r] max |R k_e| per group */
    i64 *gmn, *gmd;         /* min |R k| per group (r == 1) */
    i32 *order, nf, ostart, ocap;   /* finite groups by slope: order[ostart .. ostart+nf), room at both ends */
    i32 zero_g, vert_g;
    i32 *htab; i32 hcap;    /* open addressing: slope -> finite group */
    i64 lam_n, lam_d;       /* min |λ| over the finite groups (lam_d = 0: none) */
    i64 *ran, *rad;         /* [r] max |R k_e| over the finite groups */
} Cache;

typedef struct Memo Memo;

typedef struct {
    const Program *P;
    i64 i;                  /* the next position */
    Memo *memo;             /* per layer's FFN, then the output net */
    i64 *yn, *yd;           /* y_i */
    Cache *cache;           /* per layer */
    i64 stats[8];
    /* scratch */
    i64 *hn, *hd, *pn, *pd, *an, *ad, *on, *od, *ynx, *ydx;
    i64 *acc, *hid, *hid0;  /* net work: widest layer; hid0 the first σ layer, kept for the memo */
    i64 *qn;                /* a query row */
    i64 *tsn, *tsd;         /* a temporary sum */
    i64 *win, win_cap, win_n;   /* winners of one decision */
    i64 *pend_kn, *pend_vn;     /* [n_layers * width] the position's pending keys and values */
    i64 *pend_kd, *pend_vd;
    i64 *pend_sn, *pend_sd;     /* new running sums (m == 0 layers) */
    i32 maxw;
} Kernel;

enum { S_INDEX, S_SCORED, S_UNIFORM, S_CROSS, S_POSITIONS, S_NUM_BITS, S_DEN_BITS, S_DOT_BITS };

/* p = realloc(p, count elements), or return 0 (out of memory) */
#define GROW(p, count) do { void *a_ = realloc((p), (size_t)(count) * sizeof(*(p))); \
                            if (!a_) { return 0; } (p) = a_; } while (0)

static int cache_reserve(Cache *c, i64 need) {
    if (need <= c->cap) return 1;
    i64 cap = c->cap ? 2 * c->cap : 1024;
    while (cap < need) cap *= 2;
    if (c->m) {
        GROW(c->kn, cap * c->m);
        GROW(c->kd, cap);
        GROW(c->next, cap);
        if (c->r == 1) GROW(c->rnext, cap);
        if (c->vw) GROW(c->vn, cap * c->vw);
        if (c->vd) GROW(c->vd, cap);
    }
    c->cap = cap;
    return 1;
}

static int group_new(Cache *c, i32 *g) {
    if (c->G == c->gcap) {
        i32 cap = c->gcap ? 2 * c->gcap : 64;
        GROW(c->gtn, cap);
        GROW(c->gtd, cap);
        GROW(c->ghead, cap);
        GROW(c->gminhead, cap);
        GROW(c->gmn, cap);
        GROW(c->gmd, cap);
        if (c->r) {
            GROW(c->grn, (i64)cap * c->r);
            GROW(c->grd, (i64)cap * c->r);
        }
        c->gcap = cap;
    }
    i32 k = c->G++;
    c->ghead[k] = -1; c->gminhead[k] = -1; c->gmn[k] = 0; c->gmd[k] = 0;
    for (i32 e = 0; e < c->r; e++) { c->grn[(i64)k * c->r + e] = 0; c->grd[(i64)k * c->r + e] = 1; }
    *g = k;
    return 1;
}

static inline u64 hash_slope(i64 tn, i64 td) {
    u64 h = (u64)tn * 0x9E3779B97F4A7C15ull ^ ((u64)td + 0x632BE59BD9B4E019ull) * 0xC2B2AE3D27D4EB4Full;
    return h ^ (h >> 29);
}

static int hash_grow(Cache *c) {
    i32 cap = c->hcap ? 2 * c->hcap : 256;
    i32 *t = malloc(sizeof(i32) * cap);
    if (!t) return 0;
    for (i32 k = 0; k < cap; k++) t[k] = -1;
    for (i32 k = 0; k < c->hcap; k++) {
        i32 g = c->htab[k];
        if (g < 0) continue;
        u64 h = hash_slope(c->gtn[g], c->gtd[g]) & (u64)(cap - 1);
        while (t[h] >= 0) h = (h + 1) & (u64)(cap - 1);
        t[h] = g;
    }
    free(c->htab);
    c->htab = t; c->hcap = cap;
    return 1;
}

/* put group g at position lo of the slope order; the buffer keeps room at both ends, so the
 * new cells of a tape (new slopes at either end of the sorted order) cost O(1) */
static int order_insert(Cache *c, i32 lo, i32 g) {
    i32 nf = c->nf;
    if (c->ostart > 0 && (lo <= nf - lo || c->ostart + nf == c->ocap)) {
        memmove(c->order + c->ostart - 1, c->order + c->ostart, sizeof(i32) * (size_t)lo);
        c->ostart--;
    } else if (c->ostart + nf < c->ocap) {
        memmove(c->order + c->ostart + lo + 1, c->order + c->ostart + lo, sizeof(i32) * (size_t)(nf - lo));
    } else {
        i32 cap = c->ocap ? 2 * c->ocap : 64, start = (cap - nf - 1) / 2;
        i32 *order = malloc(sizeof(i32) * (size_t)cap);
        if (!order) return 0;
        if (nf) {
            memcpy(order + start, c->order + c->ostart, sizeof(i32) * (size_t)lo);
            memcpy(order + start + lo + 1, c->order + c->ostart + lo, sizeof(i32) * (size_t)(nf - lo));
        }
        free(c->order);
        c->order = order; c->ocap = cap; c->ostart = start;
    }
    c->order[c->ostart + lo] = g;
    c->nf = nf + 1;
    return 1;
}

/* the finite group of slope tn/td, created (and placed in slope order) when new */
static int finite_group(Cache *c, i64 tn, i64 td, i32 *out) {
    if (2 * (c->nf + 1) > c->hcap && !hash_grow(c)) return 0;
    u64 h = hash_slope(tn, td) & (u64)(c->hcap - 1);
    for (;;) {
        i32 g = c->htab[h];
        if (g < 0) break;
        if (c->gtn[g] == tn && c->gtd[g] == td) { *out = g; return 1; }
        h = (h + 1) & (u64)(c->hcap - 1);
    }
    i32 g;
    if (!group_new(c, &g)) return 0;
    c->gtn[g] = tn; c->gtd[g] = td;
    c->htab[h] = g;
    i32 lo = 0, hi = c->nf;          /* first group of a larger slope */
    while (lo < hi) {
        i32 mid = (lo + hi) / 2, o = c->order[c->ostart + mid];
        if ((i128)c->gtn[o] * td < (i128)tn * c->gtd[o]) lo = mid + 1; else hi = mid;
    }
    if (!order_insert(c, lo, g)) return 0;
    *out = g;
    return 1;
}

/* |λ_j| as (numerator, denominator) */
static inline void lam_of(const Cache *c, i64 j, u64 *a, u64 *b) {
    const i64 *k = c->kn + j * c->m;
    *a = k[0] ? uabs(k[0]) : uabs(k[1]);
    *b = (u64)c->kd[j];
}

/* index the committed key j (cache rows already written) */
static int index_insert(Cache *c, i64 j) {
    const i64 *k = c->kn + j * c->m;
    i64 kd = c->kd[j];
    i32 g;
    if (c->p == 0 || (!k[0] && !k[1])) {
        if (c->zero_g < 0 && !group_new(c, &c->zero_g)) return 0;
        g = c->zero_g;
    } else if (!k[0]) {
        if (c->vert_g < 0 && !group_new(c, &c->vert_g)) return 0;
        g = c->vert_g;
    } else {
        i64 tn = k[1], td = k[0];
        i64 q = (i64)gcd_u(uabs(tn), uabs(td));
        if (q > 1) { tn /= q; td /= q; }
        if (td < 0) { tn = -tn; td = -td; }
        if (!finite_group(c, tn, td, &g)) return 0;
        u64 a = uabs(k[0]);
        if (!c->lam_d || rat_cmp(a, (u64)kd, (u64)c->lam_n, (u64)c->lam_d) < 0) { c->lam_n = (i64)a; c->lam_d = kd; }
        for (i32 e = 0; e < c->r; e++) {
            u64 x = uabs(k[c->p + e]);
            if (rat_cmp(x, (u64)kd, (u64)c->ran[e], (u64)c->rad[e]) > 0) { c->ran[e] = (i64)x; c->rad[e] = kd; }
        }
    }
    /* members by increasing |λ|; a key goes before the members of equal |λ| */
    i32 head = c->ghead[g];
    if (head < 0 || c->p == 0) {
        c->next[j] = head; c->ghead[g] = (i32)j;
    } else {
        u64 a, b, x, y;
        lam_of(c, j, &a, &b);
        lam_of(c, head, &x, &y);
        if (rat_cmp(a, b, x, y) <= 0) {
            c->next[j] = head; c->ghead[g] = (i32)j;
        } else {
            i32 prev = head;
            for (;;) {
                i32 nx = c->next[prev];
                if (nx < 0) break;
                lam_of(c, nx, &x, &y);
                if (rat_cmp(x, y, a, b) >= 0) break;
                prev = nx;
            }
            c->next[j] = c->next[prev]; c->next[prev] = (i32)j;
        }
    }
    for (i32 e = 0; e < c->r; e++) {
        u64 x = uabs(k[c->p + e]);
        i64 *rn = c->grn + (i64)g * c->r + e, *rd = c->grd + (i64)g * c->r + e;
        if (rat_cmp(x, (u64)kd, (u64)*rn, (u64)*rd) > 0) { *rn = (i64)x; *rd = kd; }
    }
    if (c->r == 1) {
        u64 x = uabs(k[c->p]);
        int cmp = c->gmd[g] ? rat_cmp(x, (u64)kd, (u64)c->gmn[g], (u64)c->gmd[g]) : -1;
        if (cmp < 0) { c->gmn[g] = (i64)x; c->gmd[g] = kd; c->gminhead[g] = (i32)j; c->rnext[j] = -1; }
        else if (cmp == 0) { c->rnext[j] = c->gminhead[g]; c->gminhead[g] = (i32)j; }
    }
    return 1;
}

/* ----------------------------------------------------------------------------- the decision */
typedef struct { u128 A; u64 D; } Mag;        /* |<q, k>| = A / (Dq * D) */

static inline int mag_cmp(Mag x, Mag y) {      /* x.A * y.D vs y.A * x.D, in 192 bits */
    u64 a[3], b[3];
    u64 lo = (u64)x.A, hi = (u64)(x.A >> 64);
    u128 p0 = (u128)lo * y.D, p1 = (u128)hi * y.D, t;
    a[0] = (u64)p0; t = (p0 >> 64) + (u64)p1; a[1] = (u64)t; a[2] = (u64)(p1 >> 64) + (u64)(t >> 64);
    lo = (u64)y.A; hi = (u64)(y.A >> 64);
    p0 = (u128)lo * x.D; p1 = (u128)hi * x.D;
    b[0] = (u64)p0; t = (p0 >> 64) + (u64)p1; b[1] = (u64)t; b[2] = (u64)(p1 >> 64) + (u64)(t >> 64);
    for (int k = 2; k >= 0; k--) if (a[k] != b[k]) return a[k] < b[k] ? -1 : 1;
    return 0;
}

static inline int bits(u128 x) {
    u64 hi = (u64)(x >> 64), lo = (u64)x;
    return hi ? 128 - __builtin_clzll(hi) : (lo ? 64 - __builtin_clzll(lo) : 0);
}

static inline int dot_exact(const i64 *q, const i64 *k, i32 m, u128 *out) {
    i128 s = 0;
    for (i32 e = 0; e < m; e++) {
        if (!q[e] || !k[e]) continue;
        i128 p = (i128)q[e] * k[e];
        if (__builtin_add_overflow(s, p, &s)) return 0;
    }
    *out = s < 0 ? (u128)(-s) : (u128)s;
    return 1;
}

#define U 1.1102230246251565e-16           /* 2^-53 */

typedef struct {                              /* the state of one decision */
    Kernel *K;
    const Cache *c;
    const i64 *q;                             /* query numerators (support) */
    i64 Dq;
    double dq;                                /* (double) Dq */
    int have;                                 /* a best so far */
    Mag best;
    double best_hi;                           /* >= best's value, proved */
    i64 scored;
    int rest_zero;
} Decision;

static inline double up_mag(const Decision *s, Mag x) {
    return (double)x.A / (s->dq * (double)x.D) * (1 + 32 * U);
}

static int consider(Decision *s, i64 j, Mag x) {
    Kernel *K = s->K;
    int cmp = s->have ? mag_cmp(x, s->best) : -1;
    if (cmp < 0) { s->have = 1; s->best = x; s->best_hi = up_mag(s, x); K->win_n = 0; }
    if (cmp <= 0) {
        if (K->win_n == K->win_cap) {
            i64 cap = K->win_cap ? 2 * K->win_cap : 64;
            i64 *w = realloc(K->win, sizeof(i64) * (size_t)cap);
            if (!w) return 0;
            K->win = w; K->win_cap = cap;
        }
        K->win[K->win_n++] = j;
    }
    return 1;
}

static int score_key(Decision *s, i64 j, const i64 *kn, i64 kd) {
    Mag x;
    if (!dot_exact(s->q, kn, s->c->m, &x.A)) return 0;
    x.D = (u64)kd;
    int b = bits(x.A);
    if (b > s->K->stats[S_DOT_BITS]) s->K->stats[S_DOT_BITS] = b;
    return consider(s, j, x);
}

static inline int score_committed(Decision *s, i64 j) {
    return score_key(s, j, s->c->kn + j * s->c->m, s->c->kd[j]);
}

static inline int score_counted(Decision *s, i64 j) {
    s->scored++;
    return score_committed(s, j);
}

/* a proved upper bound of Σ_e |R q_e| · rmax_e */
static double room_hi(const Decision *s, const i64 *rn, const i64 *rd) {
    const Cache *c = s->c;
    double t = 0;
    for (i32 e = 0; e < c->r; e++) {
        i64 qe = s->q[c->p + e];
        if (qe && rn[e]) t += ((double)uabs(qe) / s->dq) * ((double)rn[e] / (double)rd[e]);
    }
    return t * (1 + 64 * U);
}

/* |λ|·|a| − room > best is certain (λ = ln/ld, |a| = A/(Dq·ad)): the exact bound (∗) exceeds
 * the best exact magnitude, so the key (and every key the bound covers) neither wins nor ties */
static inline int beyond(const Decision *s, u64 ln, u64 ld, u128 A, u64 ad, double room) {
    if (!s->have) return 0;
    double lower = ((double)ln / (double)ld) * ((double)A / (s->dq * (double)ad)) * (1 - 32 * U);
    return lower > (room + s->best_hi) * (1 + 4 * U);
}

/* visit one group with a = A/(Dq·ad) (A = 0: a is exactly zero) */
static int visit(Decision *s, i32 g, u128 A, u64 ad) {
    const Cache *c = s->c;
    double room = room_hi(s, c->r ? c->grn + (i64)g * c->r : NULL, c->r ? c->grd + (i64)g * c->r : NULL);
    i32 j = c->ghead[g];
    if (A == 0) {
        if (s->rest_zero) {                          /* every member scores exactly 0 */
            Mag zero = {0, 1};
            for (; j >= 0; j = c->next[j]) if (!consider(s, j, zero)) return 0;
        } else if (c->r == 1) {                      /* |<q, k>| = |R q|·|R k|: least at rmin */
            for (j = c->gminhead[g]; j >= 0; j = c->rnext[j]) if (!score_committed(s, j)) return 0;
        } else {
            for (; j >= 0; j = c->next[j]) if (!score_counted(s, j)) return 0;
        }
        return 1;
    }
    for (; j >= 0; j = c->next[j]) {                /* increasing |λ|: the bound only grows */
        u64 ln, ld;
        lam_of(c, j, &ln, &ld);
        if (beyond(s, ln, ld, A, ad, room)) break;
        if (!score_counted(s, j)) return 0;
    }
    return 1;
}

/* a_g's numerator for a finite group: q0·td + q1·tn (a_g = that / (Dq·td)) */
static inline i128 a_of(const Decision *s, i32 g) {
    return (i128)s->q[0] * s->c->gtd[g] + (i128)s->q[1] * s->c->gtn[g];
}

static inline u128 uabs128(i128 x) { return x < 0 ? (u128)(-x) : (u128)x; }

static int walk_index(Decision *s) {
    const Cache *c = s->c;
    if (c->zero_g >= 0 && !visit(s, c->zero_g, 0, 1)) return 0;
    if (c->vert_g >= 0 && !visit(s, c->vert_g, uabs(s->q[1]), 1)) return 0;
    if (!c->nf) return 1;
    if (!s->q[1]) {
        for (i32 k = 0; k < c->nf; k++) {
            i32 g = c->order[c->ostart + k];
            if (!visit(s, g, uabs128(a_of(s, g)), (u64)c->gtd[g])) return 0;
        }
        return 1;
    }
    double room = room_hi(s, c->ran, c->rad);
    int sign = s->q[1] > 0 ? 1 : -1;
    i32 lo = 0, hi = c->nf;                          /* first slope t >= t* = -q0/q1 */
    while (lo < hi) {
        i32 mid = (lo + hi) / 2;
        i128 a = a_of(s, c->order[c->ostart + mid]);
        if ((sign > 0 && a < 0) || (sign < 0 && a > 0)) lo = mid + 1; else hi = mid;
    }
    i32 right = lo, left = lo - 1;
    while (right < c->nf || left >= 0) {
        if (right < c->nf) {
            i32 g = c->order[c->ostart + right];
            u128 A = uabs128(a_of(s, g));
            if (beyond(s, (u64)c->lam_n, (u64)c->lam_d, A, (u64)c->gtd[g], room)) right = c->nf;
            else { if (!visit(s, g, A, (u64)c->gtd[g])) return 0; right++; }
        }
        if (left >= 0) {
            i32 g = c->order[c->ostart + left];
            u128 A = uabs128(a_of(s, g));
            if (beyond(s, (u64)c->lam_n, (u64)c->lam_d, A, (u64)c->gtd[g], room)) left = -1;
            else { if (!visit(s, g, A, (u64)c->gtd[g])) return 0; left--; }
        }
    }
    return 1;
}

static int cmp_i64(const void *a, const void *b) {
    i64 x = *(const i64 *)a, y = *(const i64 *)b;
    return x < y ? -1 : x > y;
}

/* the winners of a query over the committed keys and, when pkn is set, the pending key (index n):
 * K->win[0..win_n), sorted, or win_n = -1 for every key */
static int decide_self(Kernel *K, const Cache *c, const i64 *q, i64 Dq, const i64 *pkn, i64 pkd, int clip) {
    Decision s = {K, c, q, Dq, (double)Dq, 0, {0, 1}, 0, 0, 1};
    for (i32 e = c->p; e < c->m; e++) if (q[e]) s.rest_zero = 0;
    K->win_n = 0;
    if (pkn && !score_key(&s, c->n, pkn, pkd)) return 0;   /* the newest key first: it prunes the most */
    if (!walk_index(&s)) return 0;
    K->stats[S_INDEX]++;
    K->stats[S_SCORED] += s.scored;
    if ((clip && s.best.A >= (u128)Dq * s.best.D) || K->win_n == c->n + (pkn != NULL)) { K->win_n = -1; return 1; }
    qsort(K->win, (size_t)K->win_n, sizeof(i64), cmp_i64);
    return 1;
}

/* a cross-attention: every encoder key scored exactly */
static int decide_cross(Kernel *K, const Layer *L, const i64 *q, i64 Dq) {
    Decision s = {K, NULL, q, Dq, (double)Dq, 0, {0, 1}, 0, 0, 1};
    const Attn *A = &L->cross;
    K->win_n = 0;
    for (i32 j = 0; j < L->n_enc; j++) {
        Mag x;
        if (!dot_exact(q, L->enc_kn + (i64)j * A->m, A->m, &x.A)) return 0;
        x.D = (u64)L->enc_kd[j];
        if (!consider(&s, j, x)) return 0;
    }
    K->stats[S_CROSS]++;
    if (L->n_enc && ((K->P->clip && s.best.A >= (u128)Dq * s.best.D) || K->win_n == L->n_enc)) K->win_n = -1;
    return 1;
}

/* ----------------------------------------------------------------------------- capture */
static inline i32 slot_of(const Out *o, i32 layer, i32 kind) {
    return o->slot ? o->slot[layer * SLOTS_PER_LAYER + kind] : -1;
}

static inline void copy_vec(i64 *rn, i64 *rd, const i64 *xn, const i64 *xd, i32 d);

static void cap_vec(const Out *o, i32 slot, i64 row, const i64 *n, const i64 *d, i32 width) {
    if (slot >= 0) copy_vec(o->num[slot] + row * width, o->den[slot] + row * width, n, d, width);
}

static void cap_row(const Out *o, i32 slot, i64 row, const i64 *n, i64 D, i32 width) {
    if (slot < 0) return;
    memcpy(o->num[slot] + row * width, n, sizeof(i64) * (size_t)width);
    o->den[slot][row] = D;
}

static int cap_win(Out *o, i32 slot, i64 row, const Kernel *K) {
    if (slot < 0) return 1;
    i64 *meta = o->num[slot] + 2 * row;
    meta[0] = o->win_used;
    meta[1] = K->win_n;
    if (K->win_n <= 0) return 1;
    if (o->win_used + K->win_n > o->win_cap) return 0;
    memcpy(o->win + o->win_used, K->win, sizeof(i64) * (size_t)K->win_n);
    o->win_used += K->win_n;
    return 1;
}

/* ----------------------------------------------------------------------------- nets */
/* A σ-net's output is a function of its first σ layer's output (D and the integers h): memoised
 * on that, it survives inputs that differ where σ clips them — positional coordinates such as
 * i+1 that only decide whether a unit is 0 or 1. At most MEMO entries; switched off for good when
 * fewer than half of its first MEMO calls hit (docstring of fast._MLP). */
#define MEMO 1024

struct Memo {
    i32 on, width, outs, used;
    i64 calls, hits;
    i32 *table;             /* [2*MEMO] entry or -1 */
    u64 *hashes;            /* [MEMO] */
    i64 *keys;              /* [MEMO*(width+1)]: D, then h */
    i64 *vals;              /* [MEMO*2*outs]: numerators, then denominators */
};

static int memo_init(Memo *m, i32 width, i32 outs) {
    m->width = width; m->outs = outs; m->on = 1;
    m->table = malloc(sizeof(i32) * 2 * MEMO);
    m->hashes = malloc(sizeof(u64) * MEMO);
    m->keys = malloc(sizeof(i64) * (size_t)MEMO * (size_t)(width + 1));
    m->vals = malloc(sizeof(i64) * (size_t)MEMO * 2 * (size_t)outs);
    if (!m->table || !m->hashes || !m->keys || !m->vals) return 0;
    for (i32 k = 0; k < 2 * MEMO; k++) m->table[k] = -1;
    return 1;
}

static void memo_free(Memo *m) {
    free(m->table); free(m->hashes); free(m->keys); free(m->vals);
    m->table = NULL; m->hashes = NULL; m->keys = NULL; m->vals = NULL;
}

static u64 memo_hash(i64 D, const i64 *h, i32 w) {
    u64 x = (u64)D * 0x9E3779B97F4A7C15ull;
    for (i32 u = 0; u < w; u++) x = (x ^ (u64)h[u]) * 0x100000001B3ull + (u64)u;
    return x ^ (x >> 31);
}

/* the memoised output for (D, h) into on/od: 1, or 0 when absent (then *slot is where it goes) */
static int memo_get(Memo *m, u64 hv, i64 D, const i64 *h, i64 *on, i64 *od, i32 *slot) {
    m->calls++;
    i32 k = (i32)(hv & (2 * MEMO - 1));
    for (;; k = (k + 1) & (2 * MEMO - 1)) {
        i32 e = m->table[k];
        if (e < 0) { *slot = (i32)k; return 0; }
        const i64 *key = m->keys + (i64)e * (m->width + 1);
        if (m->hashes[e] == hv && key[0] == D && !memcmp(key + 1, h, sizeof(i64) * (size_t)m->width)) {
            memcpy(on, m->vals + (i64)e * 2 * m->outs, sizeof(i64) * (size_t)m->outs);
            memcpy(od, m->vals + (i64)e * 2 * m->outs + m->outs, sizeof(i64) * (size_t)m->outs);
            m->hits++;
            return 1;
        }
    }
}

static void memo_put(Memo *m, i32 slot, u64 hv, i64 D, const i64 *h, const i64 *on, const i64 *od) {
    if (m->used < MEMO) {
        i32 e = m->used++;
        m->table[slot] = e;
        m->hashes[e] = hv;
        i64 *key = m->keys + (i64)e * (m->width + 1);
        key[0] = D;
        memcpy(key + 1, h, sizeof(i64) * (size_t)m->width);
        memcpy(m->vals + (i64)e * 2 * m->outs, on, sizeof(i64) * (size_t)m->outs);
        memcpy(m->vals + (i64)e * 2 * m->outs + m->outs, od, sizeof(i64) * (size_t)m->outs);
    } else if (2 * m->hits < m->calls) {
        m->on = 0;
        memo_free(m);
    }
}

/* net(a) into on/od (per-coordinate rationals), capturing the hidden layers */
static int run_net(Kernel *K, const Net *N, Memo *memo, const i64 *an, const i64 *ad, i64 *on, i64 *od,
                   Out *o, i32 layer, i64 row) {
    i64 D, DL;
    i64 *acc = K->acc, *h = K->hid;
    const Map *last = &N->maps[N->depth - 1];
    if (!map_res(&N->maps[0], an, ad, acc, &DL)) return 0;
    int use = 0;
    u64 hv = 0;
    i32 slot = -1;
    i64 D0 = 0;
    for (i32 k = 0; k + 1 < N->depth; k++) {
        const Map *M = &N->maps[k];
        for (i32 u = 0; u < M->n_out; u++) h[u] = acc[u] <= 0 ? 0 : (acc[u] >= DL ? DL : acc[u]);
        D = DL;
        if (k < MAX_HIDDEN) cap_row(o, slot_of(o, layer, C_HIDDEN + k), row, h, D, M->n_out);
        if (k == 0 && memo->on) {
            use = 1;
            for (i32 j = 1; j + 1 < N->depth && j < MAX_HIDDEN; j++)
                if (slot_of(o, layer, C_HIDDEN + j) >= 0) use = 0;     /* a later hidden layer is captured */
            if (use) {
                if (!memo->table && !memo_init(memo, M->n_out, last->n_out)) return -1;
                hv = memo_hash(D, h, M->n_out);
                if (memo_get(memo, hv, D, h, on, od, &slot)) return 1;
                memcpy(K->hid0, h, sizeof(i64) * (size_t)M->n_out);
                D0 = D;
            }
        }
        if (!map_hid(&N->maps[k + 1], h, D, acc, &DL)) return 0;
    }
    for (i32 c = 0; c < last->n_out; c++)
        if (!reduce(acc[c], DL, &on[c], &od[c])) return 0;
    if (use) memo_put(memo, slot, hv, D0, K->hid0, on, od);
    return 1;
}

/* ----------------------------------------------------------------------------- one position */
static inline void copy_vec(i64 *rn, i64 *rd, const i64 *xn, const i64 *xd, i32 d) {
    memcpy(rn, xn, sizeof(i64) * (size_t)d);
    memcpy(rd, xd, sizeof(i64) * (size_t)d);
}

static int add_vec(const i64 *xn, const i64 *xd, const i64 *on, const i64 *od, i64 *rn, i64 *rd, i32 d) {
    for (i32 c = 0; c < d; c++)
        if (!rat_add(xn[c], xd[c], on[c], od[c], &rn[c], &rd[c])) return 0;
    return 1;
}

/* the attention output (Σ_winners v_j) / r — the sum in tsn/tsd — as a full vector dn/dd */
static int attn_output(Kernel *K, const Attn *A, i64 count, i64 *dn, i64 *dd) {
    i32 d = K->P->d;
    for (i32 c = 0; c < d; c++) { dn[c] = 0; dd[c] = 1; }
    for (i32 e = 0; e < A->vw; e++) {
        i64 n = K->tsn[e], t;
        if (!n) continue;
        if (__builtin_mul_overflow(K->tsd[e], count, &t)) return 0;
        if (!reduce(n, t, &dn[A->value_coord[e]], &dd[A->value_coord[e]])) return 0;
    }
    return 1;
}

/* bring the committed running sum of a cache up to date (each value is added once) */
static int catch_up(Cache *c) {
    while (c->sum_n < c->n) {
        i64 j = c->sum_n, den = c->vd ? c->vd[j] : 1;
        for (i32 e = 0; e < c->vw; e++)
            if (!rat_add(c->sn[e], c->sd[e], c->vn[j * c->vw + e], den, &c->sn[e], &c->sd[e])) return 0;
        c->sum_n++;
    }
    return 1;
}

/* tsn/tsd = the committed sum + the pending value */
static int sum_with(Kernel *K, Cache *c, const i64 *pvn, i64 Dv) {
    if (!catch_up(c)) return 0;
    for (i32 e = 0; e < c->vw; e++)
        if (!rat_add(c->sn[e], c->sd[e], pvn[e], Dv, &K->tsn[e], &K->tsd[e])) return 0;
    return 1;
}

/* a map's output acc/DL into a row reduced by its common gcd */
static int project(const Map *M, const i64 *xn, const i64 *xd, i64 *row, i64 *D) {
    if (!map_res(M, xn, xd, row, D)) return 0;
    return reduce_row(row, M->n_out, D);
}

static int position(Kernel *K, Out *o, i64 row) {
    const Program *P = K->P;
    i32 d = P->d, nl = P->n_layers;
    i64 k = K->i + 1;
    i64 *hn = K->hn, *hd = K->hd, *pn = K->pn, *pd = K->pd, *an = K->an, *ad = K->ad;
    i64 *on = K->on, *od = K->od;
    copy_vec(hn, hd, K->yn, K->yd, d);
    for (i32 t = 0; t < P->n_pos; t++) {             /* h = y + pos(k) */
        i64 v = 1;
        i32 e = P->pos_power[t], c = P->pos_coord[t];
        for (i32 r = 0; r < (e < 0 ? -e : e); r++) if (__builtin_mul_overflow(v, k, &v)) return 0;
        if (!fits(v)) return 0;
        if (!rat_add(hn[c], hd[c], e < 0 ? 1 : v, e < 0 ? v : 1, &hn[c], &hd[c])) return 0;
    }
    for (i32 l = 0; l < nl; l++) {
        const Layer *L = &P->layers[l];
        Cache *c = &K->cache[l];
        cap_vec(o, slot_of(o, l, C_RESID_PRE), row, hn, hd, d);
        /* self-attention */
        if (L->has_self) {
            const Attn *A = &L->self;
            i64 *pkn = K->pend_kn + (i64)l * K->maxw, *pvn = K->pend_vn + (i64)l * K->maxw;
            i64 *qn = K->qn, Dq, Dv;
            if (!project(&A->key, hn, hd, pkn, &K->pend_kd[l])) return 0;
            if (!project(&A->value, hn, hd, pvn, &Dv)) return 0;
            K->pend_vd[l] = Dv;
            if (!project(&A->query, hn, hd, qn, &Dq)) return 0;
            cap_row(o, slot_of(o, l, C_ATTN_QUERY), row, qn, Dq, A->m);
            int zero = 1;
            for (i32 e = 0; e < A->m; e++) if (qn[e]) zero = 0;
            i64 count;
            if (zero) {                               /* every key ties: (Σ v_j)/(n+1) */
                K->stats[S_UNIFORM]++;
                if (!sum_with(K, c, pvn, Dv)) return 0;
                if (!A->m) {                          /* m == 0: the sum is the only state kept */
                    memcpy(K->pend_sn + (i64)l * K->maxw, K->tsn, sizeof(i64) * A->vw);
                    memcpy(K->pend_sd + (i64)l * K->maxw, K->tsd, sizeof(i64) * A->vw);
                }
                K->win_n = -1;
                count = c->n + 1;
            } else {
                if (!decide_self(K, c, qn, Dq, pkn, K->pend_kd[l], P->clip)) return 0;
                if (K->win_n < 0) {
                    if (!sum_with(K, c, pvn, Dv)) return 0;
                    count = c->n + 1;
                } else {
                    for (i32 e = 0; e < A->vw; e++) { K->tsn[e] = 0; K->tsd[e] = 1; }
                    for (i64 w = 0; w < K->win_n; w++) {
                        i64 j = K->win[w];
                        const i64 *v = j == c->n ? pvn : c->vn + j * A->vw;
                        i64 den = j == c->n ? Dv : (c->vd ? c->vd[j] : 1);
                        for (i32 e = 0; e < A->vw; e++)
                            if (!rat_add(K->tsn[e], K->tsd[e], v[e], den, &K->tsn[e], &K->tsd[e])) return 0;
                    }
                    count = K->win_n;
                }
            }
            if (!cap_win(o, slot_of(o, l, C_ATTN_WINNERS), row, K)) return -2;
            if (!attn_output(K, A, count, on, od)) return 0;
            cap_vec(o, slot_of(o, l, C_ATTN_OUT), row, on, od, d);
            if (!add_vec(hn, hd, on, od, pn, pd, d)) return 0;
        } else {
            K->win_n = -1;
            if (!cap_win(o, slot_of(o, l, C_ATTN_WINNERS), row, K)) return -2;
            if (slot_of(o, l, C_ATTN_OUT) >= 0) {
                for (i32 x = 0; x < d; x++) { on[x] = 0; od[x] = 1; }
                cap_vec(o, slot_of(o, l, C_ATTN_OUT), row, on, od, d);
            }
            copy_vec(pn, pd, hn, hd, d);
        }
        cap_vec(o, slot_of(o, l, C_RESID_MID), row, pn, pd, d);
        /* cross-attention */
        if (L->has_cross) {
            const Attn *A = &L->cross;
            i64 *qn = K->qn, Dq;
            if (!project(&A->query, pn, pd, qn, &Dq)) return 0;
            cap_row(o, slot_of(o, l, C_CROSS_QUERY), row, qn, Dq, A->m);
            if (!decide_cross(K, L, qn, Dq)) return 0;
            if (!cap_win(o, slot_of(o, l, C_CROSS_WINNERS), row, K)) return -2;
            i64 count = K->win_n < 0 ? L->n_enc : K->win_n;
            for (i32 e = 0; e < A->vw; e++) { K->tsn[e] = 0; K->tsd[e] = 1; }
            for (i64 w = 0; w < count; w++) {
                i64 j = K->win_n < 0 ? w : K->win[w];
                for (i32 e = 0; e < A->vw; e++)
                    if (!rat_add(K->tsn[e], K->tsd[e], L->enc_vn[j * A->vw + e], L->enc_vd[j], &K->tsn[e], &K->tsd[e]))
                        return 0;
            }
            if (count && !attn_output(K, A, count, on, od)) return 0;
            if (!count) for (i32 x = 0; x < d; x++) { on[x] = 0; od[x] = 1; }
            cap_vec(o, slot_of(o, l, C_CROSS_OUT), row, on, od, d);
            if (!add_vec(pn, pd, on, od, an, ad, d)) return 0;
        } else {
            copy_vec(an, ad, pn, pd, d);
        }
        cap_vec(o, slot_of(o, l, C_RESID_CROSS), row, an, ad, d);
        /* FFN */
        if (L->has_ffn) {
            int r = run_net(K, &L->ffn, &K->memo[l], an, ad, on, od, o, l, row);
            if (r <= 0) return r;
            cap_vec(o, slot_of(o, l, C_FFN_OUT), row, on, od, d);
            if (!add_vec(an, ad, on, od, hn, hd, d)) return 0;
        } else {
            copy_vec(hn, hd, an, ad, d);
        }
        cap_vec(o, slot_of(o, l, C_RESID_POST), row, hn, hd, d);
    }
    int r = run_net(K, &P->output, &K->memo[nl], hn, hd, K->ynx, K->ydx, o, nl, row);
    if (r <= 0) return r;
    /* commit: the keys and values of every layer, the index, the running sums */
    for (i32 l = 0; l < nl; l++) {
        const Layer *L = &P->layers[l];
        Cache *c = &K->cache[l];
        if (!L->has_self) continue;
        const Attn *A = &L->self;
        if (!A->m) {
            memcpy(c->sn, K->pend_sn + (i64)l * K->maxw, sizeof(i64) * A->vw);
            memcpy(c->sd, K->pend_sd + (i64)l * K->maxw, sizeof(i64) * A->vw);
            c->sum_n = ++c->n;
            continue;
        }
        if (!cache_reserve(c, c->n + 1)) return -1;
        i64 j = c->n;
        memcpy(c->kn + j * A->m, K->pend_kn + (i64)l * K->maxw, sizeof(i64) * A->m);
        c->kd[j] = K->pend_kd[l];
        if (A->vw) memcpy(c->vn + j * A->vw, K->pend_vn + (i64)l * K->maxw, sizeof(i64) * A->vw);
        if (K->pend_vd[l] != 1 && !c->vd) {
            c->vd = malloc(sizeof(i64) * (size_t)c->cap);
            if (!c->vd) return -1;
            for (i64 x = 0; x < c->cap; x++) c->vd[x] = 1;
        }
        if (c->vd) c->vd[j] = K->pend_vd[l];
        for (i32 e = 0; e < A->m; e++) {
            int b = bits(uabs(c->kn[j * A->m + e]));
            if (b > K->stats[S_NUM_BITS]) K->stats[S_NUM_BITS] = b;
        }
        for (i32 e = 0; e < A->vw; e++) {
            int b = bits(uabs(c->vn[j * A->vw + e]));
            if (b > K->stats[S_NUM_BITS]) K->stats[S_NUM_BITS] = b;
        }
        int b = bits((u64)c->kd[j]);
        if (b > K->stats[S_DEN_BITS]) K->stats[S_DEN_BITS] = b;
        b = bits((u64)K->pend_vd[l]);
        if (b > K->stats[S_DEN_BITS]) K->stats[S_DEN_BITS] = b;
        c->n++;
        if (!index_insert(c, j)) return -1;
    }
    copy_vec(K->yn, K->yd, K->ynx, K->ydx, d);
    K->i = k;
    K->stats[S_POSITIONS]++;
    return 1;
}

/* ----------------------------------------------------------------------------- the API */
static i32 net_width(const Net *N) {
    i32 w = 0;
    for (i32 k = 0; k < N->depth; k++) if (N->maps[k].n_out > w) w = N->maps[k].n_out;
    return w;
}

int tk_abi(void) { return TK_ABI; }

void tk_free(Kernel *K) {
    if (!K) return;
    if (K->cache) {
        for (i32 l = 0; l < K->P->n_layers; l++) {
            Cache *c = &K->cache[l];
            free(c->kn); free(c->kd); free(c->vn); free(c->vd); free(c->next); free(c->rnext);
            free(c->sn); free(c->sd); free(c->gtn); free(c->gtd); free(c->ghead); free(c->gminhead);
            free(c->grn); free(c->grd); free(c->gmn); free(c->gmd); free(c->order); free(c->htab);
            free(c->ran); free(c->rad);
        }
        free(K->cache);
    }
    if (K->memo) {
        for (i32 l = 0; l <= K->P->n_layers; l++) memo_free(&K->memo[l]);
        free(K->memo);
    }
    free(K->yn); free(K->yd); free(K->hn); free(K->hd); free(K->pn); free(K->pd); free(K->an); free(K->ad);
    free(K->on); free(K->od); free(K->ynx); free(K->ydx); free(K->acc);
    free(K->hid); free(K->hid0); free(K->qn); free(K->tsn); free(K->tsd); free(K->win);
    free(K->pend_kn); free(K->pend_vn); free(K->pend_kd); free(K->pend_vd); free(K->pend_sn); free(K->pend_sd);
    free(K);
}

Kernel *tk_new(const Program *P) {
    Kernel *K = calloc(1, sizeof(Kernel));
    if (!K) return NULL;
    K->P = P;
    i32 d = P->d, nl = P->n_layers;
    i32 w = d;
    if (net_width(&P->output) > w) w = net_width(&P->output);
    i32 maxw = 1;
    for (i32 l = 0; l < nl; l++) {
        const Layer *L = &P->layers[l];
        if (L->has_ffn && net_width(&L->ffn) > w) w = net_width(&L->ffn);
        if (L->has_self) { if (L->self.m > maxw) maxw = L->self.m; if (L->self.vw > maxw) maxw = L->self.vw; }
        if (L->has_cross) { if (L->cross.m > maxw) maxw = L->cross.m; if (L->cross.vw > maxw) maxw = L->cross.vw; }
    }
    K->maxw = maxw;
#define ALLOC(p, n) if (!((p) = calloc((size_t)(n), sizeof(*(p))))) goto fail
    ALLOC(K->cache, nl);
    ALLOC(K->yn, d); ALLOC(K->yd, d); ALLOC(K->hn, d); ALLOC(K->hd, d); ALLOC(K->pn, d); ALLOC(K->pd, d);
    ALLOC(K->an, d); ALLOC(K->ad, d); ALLOC(K->on, d); ALLOC(K->od, d);
    ALLOC(K->ynx, d); ALLOC(K->ydx, d); ALLOC(K->acc, w); ALLOC(K->hid, w); ALLOC(K->hid0, w);
    ALLOC(K->memo, nl + 1);
    for (i32 l = 0; l <= nl; l++) K->memo[l].on = 1;
    ALLOC(K->qn, maxw); ALLOC(K->tsn, maxw); ALLOC(K->tsd, maxw);
    ALLOC(K->pend_kn, (i64)nl * maxw); ALLOC(K->pend_vn, (i64)nl * maxw); ALLOC(K->pend_kd, nl);
    ALLOC(K->pend_vd, nl); ALLOC(K->pend_sn, (i64)nl * maxw); ALLOC(K->pend_sd, (i64)nl * maxw);
    for (i32 l = 0; l < nl; l++) {
        const Layer *L = &P->layers[l];
        Cache *c = &K->cache[l];
        c->zero_g = c->vert_g = -1;
        if (!L->has_self) continue;
        c->m = L->self.m; c->vw = L->self.vw;
        c->p = c->m >= 2 ? 2 : 0; c->r = c->m - c->p;
        ALLOC(c->sn, maxw); ALLOC(c->sd, maxw);
        for (i32 e = 0; e < maxw; e++) c->sd[e] = 1;
        if (c->r) { ALLOC(c->ran, c->r); ALLOC(c->rad, c->r); for (i32 e = 0; e < c->r; e++) c->rad[e] = 1; }
    }
#undef ALLOC
    for (i32 c = 0; c < d; c++) { K->yn[c] = P->seed_n[c]; K->yd[c] = P->seed_d[c]; }
    return K;
fail:
    tk_free(K);
    return NULL;
}

/* decode up to out->rows positions; returns the rows written and the status in *status */
i64 tk_run(Kernel *K, Out *o, i32 *status) {
    const Program *P = K->P;
    i32 d = P->d;
    o->win_used = 0;
    for (i64 row = 0; row < o->rows; row++) {
        int r = position(K, o, row);
        if (r == 0) { *status = TK_UNPROVABLE; return row; }
        if (r < 0) { *status = r == -2 ? TK_FULL : TK_NOMEM; return row; }
        copy_vec(o->yn + row * d, o->yd + row * d, K->yn, K->yd, d);
        if (P->n_stop) {
            int zero = 1;
            for (i32 t = 0; t < P->n_stop; t++) if (K->yn[P->stop[t]]) { zero = 0; break; }
            if (zero) { *status = TK_STOPPED; return row + 1; }
        }
    }
    *status = TK_DONE;
    return o->rows;
}

/* read access for Python */
i64 tk_position(const Kernel *K) { return K->i; }
const i64 *tk_y(const Kernel *K, i32 which) { return which ? K->yd : K->yn; }
const i64 *tk_stats(const Kernel *K) { return K->stats; }
i64 tk_cache_n(const Kernel *K, i32 l) { return K->cache[l].n; }
const i64 *tk_cache_array(const Kernel *K, i32 l, i32 which) {
    const Cache *c = &K->cache[l];
    switch (which) {
        case 0: return c->kn;
        case 1: return c->kd;
        case 2: return c->vn;
        case 3: return c->vd;
        case 4: return c->sn;
        case 5: return c->sd;
        default: return NULL;
    }
}
i64 tk_cache_sum_n(const Kernel *K, i32 l) { return K->cache[l].sum_n; }

/* ----------------------------------------------------------------------------- the index alone (tests) */
typedef struct { Kernel K; Cache c; } Index;

Index *tk_index_new(i32 m) {
    Index *x = calloc(1, sizeof(Index));
    if (!x) return NULL;
    Cache *c = &x->c;
    c->m = m; c->p = m >= 2 ? 2 : 0; c->r = m - c->p; c->zero_g = c->vert_g = -1;
    if (c->r && (!(c->ran = calloc((size_t)c->r, 8)) || !(c->rad = calloc((size_t)c->r, 8)))) return NULL;
    for (i32 e = 0; e < c->r; e++) c->rad[e] = 1;
    return x;
}

/* commit one key N/D (|N_e|, D below 2^62, D > 0): 1, or 0 when out of range or memory */
int tk_index_add(Index *x, const i64 *kn, i64 kd) {
    Cache *c = &x->c;
    if (kd <= 0 || !fits(kd)) return 0;
    for (i32 e = 0; e < c->m; e++) if (!fits(kn[e])) return 0;
    if (!cache_reserve(c, c->n + 1)) return 0;
    memcpy(c->kn + c->n * c->m, kn, sizeof(i64) * (size_t)c->m);
    c->kd[c->n] = kd;
    return index_insert(c, c->n++);
}

/* the keys of least |<q, k>| for q = qn/Dq (not zero): their number, written to winners
 * (sorted; at most cap), -1 for every key, -2 when the kernel could not prove it */
i64 tk_index_decide(Index *x, const i64 *qn, i64 Dq, i32 clip, i64 *winners, i64 cap, i64 *scored) {
    x->K.stats[S_SCORED] = 0;
    if (!decide_self(&x->K, &x->c, qn, Dq, NULL, 0, clip)) return -2;
    *scored = x->K.stats[S_SCORED];
    if (x->K.win_n < 0) return -1;
    for (i64 k = 0; k < x->K.win_n && k < cap; k++) winners[k] = x->K.win[k];
    return x->K.win_n;
}

void tk_index_free(Index *x) {
    if (!x) return;
    Cache *c = &x->c;
    free(c->kn); free(c->kd); free(c->next); free(c->rnext); free(c->gtn); free(c->gtd); free(c->ghead);
    free(c->gminhead); free(c->grn); free(c->grd); free(c->gmn); free(c->gmd); free(c->order); free(c->htab);
    free(c->ran); free(c->rad); free(x->K.win);
    free(x);
}
