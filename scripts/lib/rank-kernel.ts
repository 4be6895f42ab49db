/**
 * The simulator's observation path in WebAssembly SIMD, four ids at a time:
 * for each digest, its group under an observer's partition keys and its
 * keyed rank in that group (slot-sampler.ts's `groupOf` and `rankIn`, the
 * same four murmur3 finalizers, bit for bit), and whether the rank is at or
 * below the group's bar. It returns the indices of those that are (the
 * candidates); flat-samplers.ts checks them again in order, in JavaScript,
 * and admits them. Only for a power-of-two number of groups.
 *
 * Why (issue #16): at 100,000 nodes a base run offers 2.6 × 10⁹ ids, each
 * four dependent 32-bit mixes; in V8's JavaScript that is ~20 ns an id,
 * about half of the run. Four lanes at once take it to a fraction.
 *
 * The module, as WAT (the bytes below are assembled from it by hand):
 *
 *   (func (export "rank4") (param $d i32) (param $count i32) (param $k i32)
 *         (param $cand i32) (param $g4 i32) (param $mask i32) (param $ranks i32)
 *         (param $groups i32) (result i32)
 *     ;; $d: byte address of the digests; $k: of the observer's block (keys
 *     ;; at 0 and 4, seed A of group g at 8 + 4g, seed B at 8 + $g4 + 4g,
 *     ;; the bar at 8 + 2·$g4 + 4g); $cand: where candidate indices go
 *     ;; (room for $count + 3); $g4 = 4 × groups; $mask = groups − 1;
 *     ;; $ranks, $groups: where each id's rank and group go (room for $count + 3)
 *     (local $i i32) (local $n i32) (local $bits i32) (local $a i32)
 *     (local $v v128) (local $h v128) (local $sa v128) (local $sb v128) (local $bar v128)
 *     (local $ka v128) (local $kb v128) (local $m v128) (local $c1 v128) (local $c2 v128)
 *     (local $sign v128) (local $t v128)
 *     ka, kb, m, c1 = 0x85ebca6b, c2 = 0xc2b2ae35, sign = 0x80000000: splats
 *     (loop, while $i < $count, $i += 4)
 *       v = v128.load($d + 4i)
 *       h = mix(mix(v ^ ka) + kb) & m            ;; the groups
 *       sa, sb, bar: each lane's group's seeds and bar, by i8x16.swizzle of
 *         the block's tables of groups 0–3 and 4–7 and a bitselect on h & 4
 *         (so at most 8 groups: flat-samplers.ts uses JavaScript beyond)
 *       store($groups + 4i, h); r = mix(mix(v ^ sa) + sb) ^ sign; store($ranks + 4i, r)
 *       bits = bitmask(le_s(r, bar))
 *       for each lane l: store(cand + 4n, i + l); n += bits>>l & 1 & (i + l < count)
 *     n)
 *
 *   mix(x) = x ^= x >>> 16; x *= c1; x ^= x >>> 13; x *= c2; x ^ x >>> 16
 */

const I32 = 0x7f
const V128 = 0x7b

function uleb (n: number): number[] {
  const out: number[] = []
  do {
    let b = n & 0x7f
    n >>>= 7
    if (n !== 0) b |= 0x80
    out.push(b)
  } while (n !== 0)
  return out
}

function sleb (n: number): number[] {
  const out: number[] = []
  n |= 0
  for (;;) {
    const b = n & 0x7f
    n >>= 7
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b)
      return out
    }
    out.push(b | 0x80)
  }
}

// locals: params 0–7, then i32 8–11, then v128 12–34
const D = 0; const COUNT = 1; const K = 2; const CAND = 3; const G4 = 4; const MASK = 5; const RANKS = 6; const GROUPS = 7
const IDX = 8; const N = 9; const BITS = 10 // 11: unused
const V = 12; const H = 13; const SA = 14; const SB = 15; const BAR = 16
const KA = 17; const KB = 18; const M = 19; const C1 = 20; const C2 = 21; const SIGN = 22; const T = 23
const ALO = 24; const AHI = 25; const BLO = 26; const BHI = 27; const RLO = 28; const RHI = 29
const BYTES = 30; const HIGH = 31; const THREE = 32; const SPREAD = 33; const LANE = 34

const get = (l: number): number[] => [0x20, ...uleb(l)]
const set = (l: number): number[] => [0x21, ...uleb(l)]
const tee = (l: number): number[] => [0x22, ...uleb(l)]
const i32c = (n: number): number[] => [0x41, ...sleb(n)]
const simd = (op: number, ...imm: number[]): number[] => [0xfd, ...uleb(op), ...imm]
const load32 = (offset: number): number[] => [0x28, 2, ...uleb(offset)]
const store32 = [0x36, 2, 0]
const add = 0x6a; const and = 0x71; const shl = 0x74; const shrU = 0x76; const ltS = 0x48
const v128load = simd(0x00, 2, 0)
const v128store = simd(0x0b, 2, 0)
const splat = simd(0x11)
const vand = simd(0x4e); const vxor = simd(0x51)
const vleS = simd(0x3d)
const vbitmask = simd(0xa4)
const vshrU = simd(0xad); const vadd = simd(0xae); const vmul = simd(0xb5)
const vshl = simd(0xab); const vshrS = simd(0xac)
const swizzle = simd(0x0e); const bitselect = simd(0x52)

/** mix on the v128 on the stack */
const vmix = [
  ...tee(T), ...get(T), ...i32c(16), ...vshrU, ...vxor, ...get(C1), ...vmul,
  ...tee(T), ...get(T), ...i32c(13), ...vshrU, ...vxor, ...get(C2), ...vmul,
  ...tee(T), ...get(T), ...i32c(16), ...vshrU, ...vxor
]

function body (): number[] {
  const code: number[] = []
  const splatOf = (src: number[], dst: number): void => { code.push(...src, ...splat, ...set(dst)) }
  splatOf([...get(K), ...load32(0)], KA)
  splatOf([...get(K), ...load32(4)], KB)
  splatOf(get(MASK), M)
  splatOf(i32c(0x85ebca6b), C1)
  splatOf(i32c(0xc2b2ae35), C2)
  splatOf(i32c(-0x80000000), SIGN)
  splatOf(i32c(3), THREE)
  splatOf(i32c(0x01010101), SPREAD)
  splatOf(i32c(0x03020100), LANE)
  // the seeds and bars of groups 0–3 (LO) and 4–7 (HI), as byte tables
  const table = (offset: number[], dst: number): void => { code.push(...get(K), ...offset, add, ...v128load, ...set(dst)) }
  table(i32c(8), ALO)
  table(i32c(24), AHI)
  table([...get(G4), ...i32c(8), add], BLO)
  table([...get(G4), ...i32c(24), add], BHI)
  table([...get(G4), ...i32c(1), shl, ...i32c(8), add], RLO)
  table([...get(G4), ...i32c(1), shl, ...i32c(24), add], RHI)
  // block { loop { if !(i < count) break; ... ; br loop } }
  code.push(0x02, 0x40, 0x03, 0x40)
  code.push(...get(IDX), ...get(COUNT), ltS, 0x45 /* i32.eqz */, 0x0d, 1 /* br_if 1: out */)
  code.push(...get(D), ...get(IDX), ...i32c(2), shl, add, ...v128load, ...set(V))
  code.push(...get(V), ...get(KA), ...vxor, ...vmix, ...get(KB), ...vadd, ...vmix, ...get(M), ...vand, ...set(H))
  // each lane's seeds and bar by byte shuffles of the tables: bytes
  // 4(g & 3) … 4(g & 3) + 3 of LO, or of HI where g & 4
  code.push(...get(H), ...get(THREE), ...vand, ...i32c(2), ...vshl, ...get(SPREAD), ...vmul, ...get(LANE), ...vadd, ...set(BYTES))
  code.push(...get(H), ...i32c(29), ...vshl, ...i32c(31), ...vshrS, ...set(HIGH))
  const pick = (lo: number, hi: number, dst: number): void => {
    code.push(...get(hi), ...get(BYTES), ...swizzle, ...get(lo), ...get(BYTES), ...swizzle, ...get(HIGH), ...bitselect, ...set(dst))
  }
  pick(ALO, AHI, SA)
  pick(BLO, BHI, SB)
  pick(RLO, RHI, BAR)
  // the groups and ranks, for the candidates' second look
  const at = (base: number): number[] => [...get(base), ...get(IDX), ...i32c(2), shl, add]
  code.push(...at(GROUPS), ...get(H), ...v128store)
  code.push(...at(RANKS), ...get(V), ...get(SA), ...vxor, ...vmix, ...get(SB), ...vadd, ...vmix, ...get(SIGN), ...vxor, ...tee(T), ...v128store)
  code.push(...get(T), ...get(BAR), ...vleS, ...vbitmask, ...set(BITS))
  for (let l = 0; l < 4; l++) {
    code.push(...get(CAND), ...get(N), ...i32c(2), shl, add, ...get(IDX), ...i32c(l), add, ...store32)
    code.push(...get(N), ...get(BITS), ...i32c(l), shrU, ...i32c(1), and, ...get(IDX), ...i32c(l), add, ...get(COUNT), ltS, and, add, ...set(N))
  }
  code.push(...get(IDX), ...i32c(4), add, ...set(IDX), 0x0c, 0 /* br 0: loop */, 0x0b, 0x0b)
  code.push(...get(N), 0x0b)
  const locals = [2, 4, I32, 23, V128]
  return [...locals, ...code]
}

function section (id: number, content: number[]): number[] {
  return [id, ...uleb(content.length), ...content]
}

function moduleBytes (): Uint8Array {
  const name = (s: string): number[] => [...uleb(s.length), ...[...s].map(c => c.charCodeAt(0))]
  const fn = body()
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [1, 0x60, 8, I32, I32, I32, I32, I32, I32, I32, I32, 1, I32]),
    ...section(2, [1, ...name('m'), ...name('mem'), 0x02, 0x00, 0x00]),
    ...section(3, [1, 0]),
    ...section(7, [1, ...name('rank4'), 0x00, 0]),
    ...section(10, [1, ...uleb(fn.length), ...fn])
  ])
}

export type RankKernel = (digests: number, count: number, block: number, candidates: number, groups4: number, mask: number, ranks: number, groups: number) => number

/** What this file needs of the WebAssembly API (the project's TypeScript libraries do not declare it). */
interface Wasm {
  Memory: new (init: { initial: number }) => { buffer: ArrayBuffer }
  Module: new (bytes: Uint8Array) => unknown
  Instance: new (module: unknown, imports: unknown) => { exports: Record<string, unknown> }
  validate: (bytes: Uint8Array) => boolean
}

/**
 * A memory of at least `bytes` and the kernel over it; undefined where
 * WebAssembly SIMD is not available or the memory cannot be that large.
 */
export function rankKernel (bytes: number): { buffer: ArrayBuffer, kernel: RankKernel } | undefined {
  try {
    const wasm = (globalThis as unknown as { WebAssembly: Wasm }).WebAssembly
    const code = moduleBytes()
    if (!wasm.validate(code)) return undefined
    const memory = new wasm.Memory({ initial: Math.ceil(bytes / 65536) })
    const instance = new wasm.Instance(new wasm.Module(code), { m: { mem: memory } })
    return { buffer: memory.buffer, kernel: instance.exports.rank4 as RankKernel }
  } catch {
    return undefined
  }
}
