// WGSL for the fused CNF kernels of RNODE's image ODE net (conv.ts: ConcatConv2d 3×3 'same' convs
// d_0 → d_1 … → d_L with a constant t input channel, an activation between them, none after the
// last) on WebGPU, NHWC. The math is the op-level net's (`ConvOdeNet.vjp`) and its gradient, each
// layer one dispatch over its outputs; shapes (H, W, widths) are baked in as constants, the batch
// and t come in the uniforms (cnf-mlp-wgsl.ts's block). Browser-safe: strings only.
//
// Forward (rates): per layer l, pre_l = conv_l([t, h_{l-1}]) + b_l written as h_l = σ(pre_l) and
// s_l = σ'(pre_l) (f = pre_L); the probe's VJP w_l = convᵀ_l(u_l), u_L = ε, u_l = w_{l+1} ⊙ s_l,
// g = w_1; then the per-sample sums. The adjoint of ℓ = Σ a_f·f + a_g·g + a_div·c_div·Σg⊙ε +
// a_kin·c_kin·Σf² + a_frob·c_frob·Σg²: F̄ = a_f + 2c_kin a_kin f, Ḡ = a_g + c_div a_div ε +
// 2c_frob a_frob g; the VJP pass reversed (w̄_1 = Ḡ, ū_l = conv_l(w̄_l) without t and bias,
// w̄_{l+1} = ū_l ⊙ s_l, s̄_l = ū_l ⊙ w_{l+1}); the forward pass reversed (p̄_L = F̄,
// h̄_{l-1} = convᵀ_l(p̄_l), p̄_{l-1} = h̄_{l-1} ⊙ s_{l-1} + s̄_{l-1} ⊙ σ''(pre_{l-1}), dz = h̄_0); and
// per layer dW_l = Σ_batch,pixels [t, h_{l-1}] ⊗ p̄_l + w̄_l ⊗ u_l (shifted by the tap), db_l = Σ p̄_l.
import { UNIFORMS_WGSL, WG, WGSL_SIGMOID, WGSL_TANH } from './cnf-mlp-wgsl.js';

/** Activations whose σ' and σ'' the shaders write from h = σ(x) and s = σ'(x). */
export const WGSL_CONV_ACTIVATIONS = ['softplus', 'tanh', 'sigmoid', 'identity'] as const;
export type WgslConvActivation = (typeof WGSL_CONV_ACTIVATIONS)[number];

export interface WgslConvNet {
  /** Channels d_0 (= z's) … d_L (= d_0). */
  readonly dims: readonly number[];
  readonly height: number;
  readonly width: number;
  readonly activation: WgslConvActivation;
}

/** θ offsets (the net's parameter order: layer{l}/W [3, 3, n + 1, m] HWIO, then layer{l}/b [m]). */
export function convNetLayout(net: WgslConvNet) {
  const d = net.dims;
  const layers: Array<{ l: number; n: number; m: number; wo: number; bo: number; slots: number }> = [];
  let off = 0;
  for (let l = 1; l < d.length; l++) {
    const n = d[l - 1]!;
    const m = d[l]!;
    layers.push({ l, n, m, wo: off, bo: off + 9 * (n + 1) * m, slots: 9 * (n + 1) * m + m });
    off += 9 * (n + 1) * m + m;
  }
  return { L: layers.length, layers, paramCount: off, D: net.height * net.width * d[0]! };
}

const u32 = (n: number) => `${n}u`;

/** h = σ(x), s = σ'(x) and σ''(x) from (h, s). */
function activationWgsl(a: WgslConvActivation): string {
  const sigm = WGSL_SIGMOID;
  switch (a) {
    case 'softplus':
      return `${sigm}
fn act_h(x: f32) -> f32 { return max(x, 0.0) + log(1.0 + exp(-abs(x))); }
fn act_s(x: f32) -> f32 { return sigm(x); }
fn act_dd(h: f32, s: f32) -> f32 { return s * (1.0 - s); }`;
    case 'tanh':
      return `${WGSL_TANH}
fn act_h(x: f32) -> f32 { return tanh_(x); }
fn act_s(x: f32) -> f32 { let h = tanh_(x); return 1.0 - h * h; }
fn act_dd(h: f32, s: f32) -> f32 { return -2.0 * h * s; }`;
    case 'sigmoid':
      return `${sigm}
fn act_h(x: f32) -> f32 { return sigm(x); }
fn act_s(x: f32) -> f32 { let h = sigm(x); return h * (1.0 - h); }
fn act_dd(h: f32, s: f32) -> f32 { return s * (1.0 - 2.0 * h); }`;
    case 'identity':
      return `fn act_h(x: f32) -> f32 { return x; }
fn act_s(x: f32) -> f32 { return 1.0; }
fn act_dd(h: f32, s: f32) -> f32 { return 0.0; }`;
  }
}

/** A shader with one invocation per element of an output (`n` per sample, the batch from u.B). */
function elementwise(bind: string[], perSample: number, body: string, extra = ''): string {
  return `${UNIFORMS_WGSL}
${bind.join('\n')}
${extra}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let idx = (wid.x + wid.y * u.nx) * ${u32(WG)} + lid;
  if (idx >= u.B * ${u32(perSample)}) { return; }
  ${body}
}
`;
}

function bindings(read: readonly string[], write: readonly string[]): string[] {
  const b = read.map((n, i) => `@group(0) @binding(${i}) var<storage, read> ${n}: array<f32>;`);
  write.forEach((n, i) => b.push(`@group(0) @binding(${read.length + i}) var<storage, read_write> ${n}: array<f32>;`));
  b.push(`@group(0) @binding(${read.length + write.length}) var<uniform> u: U;`);
  return b;
}

/** Storage buffers the widest shader binds. */
export const CONV_MAX_BINDINGS = 6;

/** The pixel (b, y, x) of output element `idx` with `ch` channels, and its channel. */
const pixelOf = (net: WgslConvNet, ch: number) =>
  `let ch = idx % ${u32(ch)}; let p = idx / ${u32(ch)}; let x = i32(p % ${u32(net.width)}); let y = i32((p / ${u32(net.width)}) % ${u32(net.height)}); let b = p / ${u32(net.height * net.width)};`;

/**
 * `s += Σ_taps Σ_c IN(pixel shifted by the tap, c) · W[tap, c + 1, ch]` over layer `ly`'s n input
 * channels (a correlation: conv). With `time`, the t channel and the bias are added too.
 */
function convSum(net: WgslConvNet, ly: { n: number; m: number; wo: number; bo: number }, load: (at: string) => string, time: boolean): string {
  const { n, m, wo, bo } = ly;
  return `var s = ${time ? `theta[${u32(bo)} + ch]` : '0.0'};
  for (var dy = 0; dy < 3; dy++) {
    let yy = y + dy - 1;
    if (yy < 0 || yy >= ${net.height}) { continue; }
    for (var dx = 0; dx < 3; dx++) {
      let xx = x + dx - 1;
      if (xx < 0 || xx >= ${net.width}) { continue; }
      let wb = ${u32(wo)} + u32(dy * 3 + dx) * ${u32((n + 1) * m)} + ch;
      ${time ? 's += u.t * theta[wb];' : ''}
      let ib = ((b * ${u32(net.height)} + u32(yy)) * ${u32(net.width)} + u32(xx)) * ${u32(n)};
      for (var c = 0u; c < ${u32(n)}; c++) { s += ${load('ib + c')} * theta[wb + (c + 1u) * ${u32(m)}]; }
    }
  }`;
}

/** `s = Σ_taps Σ_o IN(pixel shifted back by the tap, o) · W[tap, ch + 1, o]` (convᵀ: the input gradient). */
function convTSum(net: WgslConvNet, ly: { n: number; m: number; wo: number }, load: (at: string) => string): string {
  const { n, m, wo } = ly;
  return `var s = 0.0;
  for (var dy = 0; dy < 3; dy++) {
    let yy = y - dy + 1;
    if (yy < 0 || yy >= ${net.height}) { continue; }
    for (var dx = 0; dx < 3; dx++) {
      let xx = x - dx + 1;
      if (xx < 0 || xx >= ${net.width}) { continue; }
      let wb = ${u32(wo)} + u32(dy * 3 + dx) * ${u32((n + 1) * m)} + (ch + 1u) * ${u32(m)};
      let ib = ((b * ${u32(net.height)} + u32(yy)) * ${u32(net.width)} + u32(xx)) * ${u32(m)};
      for (var o = 0u; o < ${u32(m)}; o++) { s += ${load('ib + o')} * theta[wb + o]; }
    }
  }`;
}

const pixels = (net: WgslConvNet) => net.height * net.width;

/**
 * Layer l forward. Bindings: theta, x (z for l = 1, else h_{l-1}), then h_l and s_l (l < L) or f
 * (l = L), uniforms.
 */
export function forwardShader(net: WgslConvNet, l: number): string {
  const o = convNetLayout(net);
  const ly = o.layers[l - 1]!;
  const last = l === o.L;
  const bind = bindings(['theta', 'xin'], last ? ['fo'] : ['ho', 'so']);
  const out = last ? 'fo[idx] = s;' : 'ho[idx] = act_h(s); so[idx] = act_s(s);';
  return elementwise(bind, pixels(net) * ly.m, `${pixelOf(net, ly.m)}
  ${convSum(net, ly, (at) => `xin[${at}]`, true)}
  ${out}`, last ? '' : activationWgsl(net.activation));
}

/**
 * The probe's VJP through layer l: w_l = convᵀ_l(u_l), u_L = ε, u_l = w_{l+1} ⊙ s_l.
 * Bindings: theta, ε (l = L) or w_{l+1} and s_l, then w_l, uniforms.
 */
export function vjpShader(net: WgslConvNet, l: number): string {
  const o = convNetLayout(net);
  const ly = o.layers[l - 1]!;
  const last = l === o.L;
  const bind = bindings(last ? ['theta', 'ein'] : ['theta', 'wnext', 'sl'], ['wo']);
  const load = last ? (at: string) => `ein[${at}]` : (at: string) => `(wnext[${at}] * sl[${at}])`;
  return elementwise(bind, pixels(net) * ly.n, `${pixelOf(net, ly.n)}
  ${convTSum(net, ly, load)}
  wo[idx] = s;`);
}

/**
 * One workgroup per sample: c_div·Σ g⊙ε, c_kin·Σ f², c_frob·Σ g². Bindings: f, g, ε, then div, kin,
 * frob, uniforms.
 */
export function sumsShader(net: WgslConvNet): string {
  const D = convNetLayout(net).D;
  return `${UNIFORMS_WGSL}
${bindings(['fi', 'gi', 'ei'], ['divo', 'kino', 'frobo']).join('\n')}
var<workgroup> red: array<vec3<f32>, ${WG}>;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let b = wid.x + wid.y * u.nx;
  if (b >= u.B) { return; }
  var acc = vec3<f32>(0.0, 0.0, 0.0);
  for (var k = lid; k < ${u32(D)}; k += ${u32(WG)}) {
    let i = b * ${u32(D)} + k;
    let f = fi[i]; let g = gi[i];
    acc += vec3<f32>(g * ei[i], f * f, g * g);
  }
  red[lid] = acc;
  workgroupBarrier();
  for (var w = ${u32(WG / 2)}; w > 0u; w = w / 2u) {
    if (lid < w) { red[lid] += red[lid + w]; }
    workgroupBarrier();
  }
  if (lid == 0u) { divo[b] = u.cDiv * red[0].x; kino[b] = u.cKin * red[0].y; frobo[b] = u.cFrob * red[0].z; }
}
`;
}

/** The per-sample cotangents the adjoint reads (each optional). */
export type ConvCotangent = 'az' | 'ag' | 'adiv' | 'akin' | 'afrob';

/**
 * F̄ = a_f + 2 c_kin a_kin f. Bindings: the present of a_z, a_kin (and f with a_kin), then F̄,
 * uniforms (`cotFReads` lists them: WebGPU's automatic layout drops a binding a shader never reads).
 */
export function cotFShader(net: WgslConvNet, present: readonly ConvCotangent[]): string {
  const D = convNetLayout(net).D;
  const has = (c: ConvCotangent) => present.includes(c);
  const terms = [has('az') ? 'az[idx]' : '', has('akin') ? `2.0 * u.cKin * akin[idx / ${u32(D)}] * fi[idx]` : ''].filter(Boolean);
  return elementwise(bindings(cotFReads(present), ['fb']), D, `fb[idx] = ${terms.length ? terms.join(' + ') : '0.0'};`);
}

export function cotFReads(present: readonly ConvCotangent[]): string[] {
  return [...(present.includes('akin') ? ['fi'] : []), ...(['az', 'akin'] as const).filter((c) => present.includes(c))];
}

/** Ḡ = a_g + c_div a_div ε + 2 c_frob a_frob g. Bindings: `cotGReads` (g, ε where read, the present cotangents), then Ḡ, uniforms. */
export function cotGShader(net: WgslConvNet, present: readonly ConvCotangent[]): string {
  const D = convNetLayout(net).D;
  const has = (c: ConvCotangent) => present.includes(c);
  const terms = [
    has('ag') ? 'ag[idx]' : '',
    has('adiv') ? `u.cDiv * adiv[idx / ${u32(D)}] * ei[idx]` : '',
    has('afrob') ? `2.0 * u.cFrob * afrob[idx / ${u32(D)}] * gi[idx]` : '',
  ].filter(Boolean);
  return elementwise(bindings(cotGReads(present), ['gb']), D, `gb[idx] = ${terms.length ? terms.join(' + ') : '0.0'};`);
}

export function cotGReads(present: readonly ConvCotangent[]): string[] {
  const has = (c: ConvCotangent) => present.includes(c);
  return [...(has('afrob') ? ['gi'] : []), ...(has('adiv') ? ['ei'] : []), ...(['ag', 'adiv', 'afrob'] as const).filter(has)];
}

/**
 * The VJP pass reversed at layer l < L: ū_l = conv_l(w̄_l) (no t, no bias), w̄_{l+1} = ū_l ⊙ s_l,
 * s̄_l = ū_l ⊙ w_{l+1}. Bindings: theta, w̄_l, s_l, w_{l+1}, then w̄_{l+1}, s̄_l, uniforms.
 */
export function reverseVjpShader(net: WgslConvNet, l: number): string {
  const ly = convNetLayout(net).layers[l - 1]!;
  return elementwise(bindings(['theta', 'wbar', 'sl', 'wnext'], ['wbnext', 'sbar']), pixels(net) * ly.m, `${pixelOf(net, ly.m)}
  ${convSum(net, ly, (at) => `wbar[${at}]`, false)}
  wbnext[idx] = s * sl[idx];
  sbar[idx] = s * wnext[idx];`);
}

/**
 * The forward pass reversed at layer l: h̄ = convᵀ_l(p̄_l); for l > 1 p̄_{l-1} = h̄ ⊙ s_{l-1} +
 * s̄_{l-1} ⊙ σ''(pre_{l-1}), for l = 1 sign·dz. Bindings: theta, p̄_l, [s_{l-1}, s̄_{l-1}, h_{l-1}],
 * then the output, uniforms. (For L = 1 there is no s̄.)
 */
export function reverseForwardShader(net: WgslConvNet, l: number): string {
  const o = convNetLayout(net);
  const ly = o.layers[l - 1]!;
  const first = l === 1;
  const bind = bindings(first ? ['theta', 'pbar'] : ['theta', 'pbar', 'sp', 'sbp', 'hp'], ['out']);
  const out = first ? 'out[idx] = u.sign * s;' : 'out[idx] = s * sp[idx] + sbp[idx] * act_dd(hp[idx], sp[idx]);';
  return elementwise(bind, pixels(net) * ly.n, `${pixelOf(net, ly.n)}
  ${convTSum(net, ly, (at) => `pbar[${at}]`)}
  ${out}`, first ? '' : activationWgsl(net.activation));
}

/** Weights (or biases) per workgroup of the dθ shader; its WG invocations split their pixels into WG / GRAD_SLOTS lanes. */
export const GRAD_SLOTS = 8;

/**
 * Layer l's parameter gradient into dθ (sign·): per weight (tap, input channel incl. t, output
 * channel) and per bias, the sum over the batch and the pixels of [t, h_{l-1}] ⊗ p̄_l plus, for the
 * x channels, w̄_l ⊗ u_l (u_L = ε, u_l = w_{l+1} ⊙ s_l). A workgroup takes GRAD_SLOTS consecutive
 * slots (neighbouring output channels: contiguous reads of p̄_l), each summed by WG / GRAD_SLOTS
 * invocations over interleaved pixels and reduced in workgroup memory. Bindings: x (z or h_{l-1}),
 * p̄_l, w̄_l, ε or (w_{l+1}, s_l), then dθ, uniforms.
 */
export function paramGradShader(net: WgslConvNet, l: number): string {
  const o = convNetLayout(net);
  const ly = o.layers[l - 1]!;
  const { n, m, wo, slots } = ly;
  const last = l === o.L;
  const H = net.height;
  const W = net.width;
  const lanes = WG / GRAD_SLOTS;
  const reads = last ? ['xin', 'pbar', 'wbar', 'ein'] : ['xin', 'pbar', 'wbar', 'wnext', 'sl'];
  const uAt = (at: string) => (last ? `ein[${at}]` : `(wnext[${at}] * sl[${at}])`);
  return `${UNIFORMS_WGSL}
${bindings(reads, ['dtheta']).join('\n')}
var<workgroup> part: array<f32, ${WG}>;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let k = (wid.x + wid.y * u.nx) * ${u32(GRAD_SLOTS)} + lid % ${u32(GRAD_SLOTS)};
  let lane = lid / ${u32(GRAD_SLOTS)};
  var s = 0.0;
  if (k >= ${u32(9 * (n + 1) * m)} && k < ${u32(slots)}) {
    // a bias: Σ p̄_l
    let oc = k - ${u32(9 * (n + 1) * m)};
    for (var p = lane; p < u.B * ${u32(H * W)}; p += ${u32(lanes)}) { s += pbar[p * ${u32(m)} + oc]; }
  } else if (k < ${u32(9 * (n + 1) * m)}) {
    let oc = k % ${u32(m)};
    let c1 = (k / ${u32(m)}) % ${u32(n + 1)};
    let tap = i32(k / ${u32((n + 1) * m)});
    let dy = tap / 3; let dx = tap % 3;
    // the output pixels whose tap lands inside the image: rows y0..y1, columns x0..x1
    let y0 = max(0, 1 - dy); let ny = u32(min(${H}, ${H + 1} - dy) - y0);
    let x0 = max(0, 1 - dx); let nxw = u32(min(${W}, ${W + 1} - dx) - x0);
    for (var q = lane; q < u.B * ny * nxw; q += ${u32(lanes)}) {
      let b = q / (ny * nxw);
      let y = y0 + i32((q / nxw) % ny);
      let x = x0 + i32(q % nxw);
      let po = (b * ${u32(H)} + u32(y)) * ${u32(W)} + u32(x);
      let pi = (b * ${u32(H)} + u32(y + dy - 1)) * ${u32(W)} + u32(x + dx - 1);
      if (c1 == 0u) {
        s += u.t * pbar[po * ${u32(m)} + oc];
      } else {
        let c = c1 - 1u;
        s += xin[pi * ${u32(n)} + c] * pbar[po * ${u32(m)} + oc] + wbar[pi * ${u32(n)} + c] * ${uAt(`po * ${u32(m)} + oc`)};
      }
    }
  }
  part[lid] = s;
  workgroupBarrier();
  if (lane == 0u && k < ${u32(slots)}) {
    var t = 0.0;
    for (var j = 0u; j < ${u32(lanes)}; j++) { t += part[j * ${u32(GRAD_SLOTS)} + lid]; }
    // the biases follow the weights in θ
    dtheta[${u32(wo)} + k] = u.sign * t;
  }
}
`;
}
