// WGSL for the fused CNF kernels of the dense ODE net (the wasm kernel's math, src/kernels/cnf-mlp.ts
// and its float64 reference src/kernels/reference.ts) on WebGPU. Shaders are generated per net shape
// (widths, layer kind) with the shape baked in as constants. Browser-safe: strings only.
//
//   sample  one workgroup per sample: the forward pass, the probe's VJP g = εᵀ∂f/∂z and the sums
//           Σ g⊙ε, Σ f², Σ g², kept in workgroup memory; in adjoint mode also the exact backward of
//           ℓ = Σ (a_f·f + a_g·g + a_div·div + a_kin·kin + a_frob·frob) for this sample, written to a
//           workspace with the per-layer vectors whose batch sums are dθ.
//   pack    the cotangents present, packed per sample [a_f (D), a_g (D), c_div·a_div, c_kin·a_kin,
//           c_frob·a_frob] (zeros where absent), so `sample` has a fixed number of bindings.
//   params  one invocation per weight (i, j) or per output unit j of a layer: dθ = sign · Σ_batch.
//   gather  the per-sample outputs f, div, kin, frob and sign·dz from the workspace.

export type WgslLayerKind = 'concatsquash' | 'concat' | 'ignore';

export interface WgslNet {
  readonly dims: readonly number[];
  readonly kind: WgslLayerKind;
}

/** Threads per workgroup of every shader here. */
export const WG = 64;

/** The uniform block of every shader (8 four-byte words). */
export const UNIFORMS_WGSL = `struct U { B: u32, nx: u32, t: f32, cDiv: f32, cKin: f32, cFrob: f32, sign: f32, pad: f32 }`;

export function uniformWords(o: { B: number; nx: number; t: number; cDiv: number; cKin: number; cFrob: number; sign: number }): ArrayBuffer {
  const buf = new ArrayBuffer(32);
  const u = new Uint32Array(buf);
  const f = new Float32Array(buf);
  u[0] = o.B;
  u[1] = o.nx;
  f[2] = o.t;
  f[3] = o.cDiv;
  f[4] = o.cKin;
  f[5] = o.cFrob;
  f[6] = o.sign;
  return buf;
}

const perUnit = (kind: WgslLayerKind) => (kind === 'concatsquash' ? 4 : kind === 'concat' ? 2 : 1);

/** Offsets of everything the shaders index, from the widths d_0 … d_L. */
export function netLayout(net: WgslNet) {
  const d = net.dims;
  const L = d.length - 1;
  const D = d[0]!;
  const sum = (from: number, to: number) => d.slice(from, to).reduce((a, b) => a + b, 0);
  const layers = [] as Array<{ l: number; n: number; m: number; off: number; bo: number; ws: number; slots: number; slot0: number }>;
  let off = 0;
  // workspace per sample: f (D), div, kin, frob, dz (D), then per layer vb_l (n), a_{l-1} (n), u_l (m),
  // sb_l (m) and r_l (m): r_l[j] = u_l[j]·(θ_Wᵀ vb_l)[j] + sb_l[j]·(θ_Wᵀ a_{l-1})[j], whose batch sum is
  // Σ_i θ_W[i,j]·GW[i,j] (the gate's cotangent needs it; summing it per sample keeps dθ O(B) per unit)
  let ws = 2 * D + 3;
  let slot = 0;
  for (let l = 1; l <= L; l++) {
    const n = d[l - 1]!;
    const m = d[l]!;
    layers.push({ l, n, m, off, bo: off + n * m, ws, slots: n * m + m, slot0: slot });
    off += n * m + m * perUnit(net.kind);
    ws += 2 * (n + m) + m;
    slot += n * m + m;
  }
  return {
    L,
    D,
    layers,
    paramCount: off,
    /** Workspace floats per sample. */
    wsStride: ws,
    /** Invocations of the params shader. */
    slots: slot,
    /** a_l at aO(l), l = 0..L. */
    aO: (l: number) => sum(0, l),
    /** v_l (and ab_l, vb_{l+1}) at vO(l), l = 0..L-1. */
    vO: (l: number) => sum(0, l),
    /** u_l, sb_l and layer l's gates at uO(l), l = 1..L. */
    uO: (l: number) => sum(1, l),
    SA: sum(0, L + 1),
    SV: sum(0, L),
    SU: sum(1, L + 1),
    /** Cotangent floats per sample in the packed form. */
    cotStride: 2 * D + 3,
  };
}

/** Workgroup memory (bytes) the sample shader needs. */
export function sampleWorkgroupBytes(net: WgslNet, adjoint: boolean): number {
  const o = netLayout(net);
  return 4 * (2 * o.SU + o.SA + o.SV + o.SU + (adjoint ? 2 * o.SV + 3 * o.SU : 0) + 4);
}

/** WGSL `sigm(x)`, the logistic function. */
export const WGSL_SIGMOID = 'fn sigm(x: f32) -> f32 { return 1.0 / (1.0 + exp(-x)); }';

/** WGSL `tanh_(x)`, overflow-safe for any x. */
export const WGSL_TANH = `fn tanh_(x: f32) -> f32 {
  let e = exp(-2.0 * abs(x));
  let r = (1.0 - e) / (1.0 + e);
  return select(-r, r, x >= 0.0);
}`;

const u32 = (n: number) => `${n}u`;

/** `var s = Σ_k src[at + k] · θ_W[k, j]` over the layer's inputs (a column of the raw weights). */
const colSum = (src: string, at: number, ly: { n: number; m: number; off: number }) =>
  `var s = 0.0;
    for (var k = 0u; k < ${u32(ly.n)}; k++) { s += ${src}[${at}u + k] * theta[${ly.off}u + k * ${u32(ly.m)} + j]; }`;

/** `var s = Σ_j src[at + j] · W(t)[i, j]` over the layer's outputs (a row of the gated weights; `g` = the gates' offset). */
const rowSum = (src: string, at: number, g: number, ly: { m: number; off: number }) =>
  `var s = 0.0;
    for (var j = 0u; j < ${u32(ly.m)}; j++) { s += ${src}[${at}u + j] * gate[${g}u + j] * theta[${ly.off}u + i * ${u32(ly.m)} + j]; }`;

/**
 * The per-sample shader. Bindings: theta, z, e, then in forward mode f, [g], div, kin, frob (outputs;
 * `withG` in probe mode), in adjoint mode cot (packed, read) and ws (workspace); the uniforms last.
 */
export function sampleShader(net: WgslNet, mode: 'probe' | 'rates' | 'adjoint'): string {
  const o = netLayout(net);
  const { L, D } = o;
  const adjoint = mode === 'adjoint';
  const bind: string[] = ['theta', 'zin', 'ein'].map((n, i) => `@group(0) @binding(${i}) var<storage, read> ${n}: array<f32>;`);
  const outs = adjoint ? [] : mode === 'probe' ? ['fo', 'go', 'divo', 'kino', 'frobo'] : ['fo', 'divo', 'kino', 'frobo'];
  outs.forEach((n, i) => bind.push(`@group(0) @binding(${3 + i}) var<storage, read_write> ${n}: array<f32>;`));
  if (adjoint) {
    bind.push(`@group(0) @binding(3) var<storage, read> cot: array<f32>;`);
    bind.push(`@group(0) @binding(4) var<storage, read_write> ws: array<f32>;`);
  }
  const nb = adjoint ? 5 : 3 + outs.length;
  bind.push(`@group(0) @binding(${nb}) var<uniform> u: U;`);

  const shared = [`var<workgroup> gate: array<f32, ${o.SU}>;`, `var<workgroup> cv: array<f32, ${o.SU}>;`, `var<workgroup> act: array<f32, ${o.SA}>;`, `var<workgroup> vv: array<f32, ${o.SV}>;`, `var<workgroup> uu: array<f32, ${o.SU}>;`, `var<workgroup> red: array<f32, 4>;`];
  if (adjoint) {
    shared.push(`var<workgroup> vb: array<f32, ${o.SV}>;`, `var<workgroup> ab: array<f32, ${o.SV}>;`, `var<workgroup> sb: array<f32, ${o.SU}>;`);
    // θ_Wᵀ a_{l-1} and θ_Wᵀ vb_l before the gate (for r_l)
    shared.push(`var<workgroup> qv: array<f32, ${o.SU}>;`, `var<workgroup> pv: array<f32, ${o.SU}>;`);
  }

  const body: string[] = [];
  // gates and time biases
  for (const ly of o.layers) {
    const g = o.uO(ly.l);
    const { m, bo } = ly;
    const c =
      net.kind === 'concatsquash'
        ? `let gj = sigm(u.t * theta[${bo + m}u + j] + theta[${bo + 2 * m}u + j]); gate[${g}u + j] = gj; cv[${g}u + j] = theta[${bo}u + j] * gj + u.t * theta[${bo + 3 * m}u + j];`
        : net.kind === 'concat'
          ? `gate[${g}u + j] = 1.0; cv[${g}u + j] = theta[${bo}u + j] + u.t * theta[${bo + m}u + j];`
          : `gate[${g}u + j] = 1.0; cv[${g}u + j] = theta[${bo}u + j];`;
    body.push(`for (var j = lid; j < ${u32(m)}; j += ${u32(WG)}) { ${c} }`);
  }
  body.push(`for (var k = lid; k < ${u32(D)}; k += ${u32(WG)}) { act[k] = zin[b * ${u32(D)} + k]; uu[${o.uO(L)}u + k] = ein[b * ${u32(D)} + k]; }`);
  body.push('workgroupBarrier();');
  // forward: a_l = tanh(c + gate ⊙ (a_{l-1} θ_W)) (no tanh on the last layer)
  for (const ly of o.layers) {
    const { l, m } = ly;
    const act = l < L ? 'tanh_(s)' : 's';
    body.push(`for (var j = lid; j < ${u32(m)}; j += ${u32(WG)}) {
    ${colSum('act', o.aO(l - 1), ly)}
    ${adjoint ? `qv[${o.uO(l)}u + j] = s;` : ''}
    s = cv[${o.uO(l)}u + j] + gate[${o.uO(l)}u + j] * s;
    act[${o.aO(l)}u + j] = ${act};
  }
  workgroupBarrier();`);
  }
  // the probe's VJP: v_{l-1} = W(t) u_l, u_{l-1} = v_{l-1} ⊙ (1 − a_{l-1}²); u_L = ε
  for (let l = L; l >= 1; l--) {
    const ly = o.layers[l - 1]!;
    const next = l - 1 >= 1 ? `let a = act[${o.aO(l - 1)}u + i]; uu[${o.uO(l - 1)}u + i] = s * (1.0 - a * a);` : '';
    body.push(`for (var i = lid; i < ${u32(ly.n)}; i += ${u32(WG)}) {
    ${rowSum('uu', o.uO(l), o.uO(l), ly)}
    vv[${o.vO(l - 1)}u + i] = s;
    ${next}
  }
  workgroupBarrier();`);
  }
  // per-sample sums (one invocation: D is small)
  body.push(`if (lid == 0u) {
    var sd = 0.0; var sk = 0.0; var sf = 0.0;
    for (var k = 0u; k < ${u32(D)}; k++) {
      let f = act[${o.aO(L)}u + k]; let g = vv[k];
      sd += g * uu[${o.uO(L)}u + k]; sk += f * f; sf += g * g;
    }
    red[0] = sd; red[1] = sk; red[2] = sf;
  }
  workgroupBarrier();`);
  if (!adjoint) {
    const g = mode === 'probe' ? `go[b * ${u32(D)} + k] = vv[k];` : '';
    body.push(`if (valid) {
    for (var k = lid; k < ${u32(D)}; k += ${u32(WG)}) { fo[b * ${u32(D)} + k] = act[${o.aO(L)}u + k]; ${g} }
    if (lid == 0u) { divo[b] = u.cDiv * red[0]; kino[b] = u.cKin * red[1]; frobo[b] = u.cFrob * red[2]; }
  }`);
  } else {
    const cs = o.cotStride;
    // Fb = a_f + 2 a_kin f (→ sb_L); Gb = a_g + a_div ε + 2 a_frob g (→ vb_1); ab_0 = 0
    body.push(`{
    let cb = b * ${u32(cs)};
    let cdiv = cot[cb + ${u32(2 * D)}]; let ckin = cot[cb + ${u32(2 * D + 1)}]; let cfrob = cot[cb + ${u32(2 * D + 2)}];
    for (var k = lid; k < ${u32(D)}; k += ${u32(WG)}) {
      let f = act[${o.aO(L)}u + k]; let g = vv[k];
      sb[${o.uO(L)}u + k] = cot[cb + k] + 2.0 * ckin * f;
      vb[k] = cot[cb + ${u32(D)} + k] + cdiv * uu[${o.uO(L)}u + k] + 2.0 * cfrob * g;
      ab[k] = 0.0;
    }
  }
  workgroupBarrier();`);
    // reverse of the VJP pass: ub = W(t)ᵀ vb_l; vb_{l+1} = ub ⊙ (1 − a_l²); ab_l = −2 a_l ub v_l
    for (const ly of o.layers) {
      const { l, m } = ly;
      // ub_L feeds only dθ (through vb_L, u_L and r_L): no vb_{L+1}, no ab_L
      const next =
        l < L
          ? `let ub = s * gate[${o.uO(l)}u + j];
    let a = act[${o.aO(l)}u + j];
    vb[${o.vO(l)}u + j] = ub * (1.0 - a * a);
    ab[${o.vO(l)}u + j] = -2.0 * a * ub * vv[${o.vO(l)}u + j];`
          : '';
      body.push(`for (var j = lid; j < ${u32(m)}; j += ${u32(WG)}) {
    ${colSum('vb', o.vO(l - 1), ly)}
    pv[${o.uO(l)}u + j] = s;
    ${next}
  }
  workgroupBarrier();`);
    }
    // reverse of the forward pass: ab_{l-1} += W(t) sb_l; sb_{l-1} = ab_{l-1} ⊙ (1 − a_{l-1}²)
    for (let l = L; l >= 1; l--) {
      const ly = o.layers[l - 1]!;
      const next = l - 1 >= 1 ? `let a = act[${o.aO(l - 1)}u + i]; sb[${o.uO(l - 1)}u + i] = t * (1.0 - a * a);` : '';
      body.push(`for (var i = lid; i < ${u32(ly.n)}; i += ${u32(WG)}) {
    ${rowSum('sb', o.uO(l), o.uO(l), ly)}
    let t = ab[${o.vO(l - 1)}u + i] + s;
    ab[${o.vO(l - 1)}u + i] = t;
    ${next}
  }
  workgroupBarrier();`);
    }
    // the workspace
    const w = o.wsStride;
    const copies = o.layers.map(
      (ly) => `for (var i = lid; i < ${u32(ly.n)}; i += ${u32(WG)}) { ws[wb + ${u32(ly.ws)} + i] = vb[${o.vO(ly.l - 1)}u + i]; ws[wb + ${u32(ly.ws + ly.n)} + i] = act[${o.aO(ly.l - 1)}u + i]; }
    for (var j = lid; j < ${u32(ly.m)}; j += ${u32(WG)}) {
      let uj = uu[${o.uO(ly.l)}u + j]; let sj = sb[${o.uO(ly.l)}u + j];
      ws[wb + ${u32(ly.ws + 2 * ly.n)} + j] = uj; ws[wb + ${u32(ly.ws + 2 * ly.n + ly.m)} + j] = sj;
      ws[wb + ${u32(ly.ws + 2 * ly.n + 2 * ly.m)} + j] = uj * pv[${o.uO(ly.l)}u + j] + sj * qv[${o.uO(ly.l)}u + j];
    }`,
    );
    body.push(`if (valid) {
    let wb = b * ${u32(w)};
    for (var k = lid; k < ${u32(D)}; k += ${u32(WG)}) { ws[wb + k] = act[${o.aO(L)}u + k]; ws[wb + ${u32(D + 3)} + k] = ab[k]; }
    if (lid == 0u) { ws[wb + ${u32(D)}] = red[0]; ws[wb + ${u32(D + 1)}] = red[1]; ws[wb + ${u32(D + 2)}] = red[2]; }
    ${copies.join('\n    ')}
  }`);
  }
  return `${UNIFORMS_WGSL}
${bind.join('\n')}
${shared.join('\n')}
${WGSL_TANH}
${WGSL_SIGMOID}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let valid = wid.x + wid.y * u.nx < u.B;
  let b = min(wid.x + wid.y * u.nx, u.B - 1u);
  ${body.join('\n  ')}
}
`;
}

/** Which cotangents a `pack` shader reads (one binding each, in this order). */
export const COTANGENTS = ['az', 'ag', 'adiv', 'akin', 'afrob'] as const;
export type CotangentName = (typeof COTANGENTS)[number];

/** One invocation per sample: the packed cotangents. Bindings: the present cotangents, cot, uniforms. */
export function packShader(net: WgslNet, present: readonly CotangentName[]): string {
  const { D, cotStride } = netLayout(net);
  const has = (c: CotangentName) => present.includes(c);
  const bind = present.map((c, i) => `@group(0) @binding(${i}) var<storage, read> ${c}: array<f32>;`);
  bind.push(`@group(0) @binding(${present.length}) var<storage, read_write> cot: array<f32>;`);
  bind.push(`@group(0) @binding(${present.length + 1}) var<uniform> u: U;`);
  return `${UNIFORMS_WGSL}
${bind.join('\n')}
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let b = gid.x + gid.y * u.nx * ${u32(WG)};
  if (b >= u.B) { return; }
  let cb = b * ${u32(cotStride)};
  for (var k = 0u; k < ${u32(D)}; k++) {
    cot[cb + k] = ${has('az') ? `az[b * ${u32(D)} + k]` : '0.0'};
    cot[cb + ${u32(D)} + k] = ${has('ag') ? `ag[b * ${u32(D)} + k]` : '0.0'};
  }
  cot[cb + ${u32(2 * D)}] = ${has('adiv') ? 'u.cDiv * adiv[b]' : '0.0'};
  cot[cb + ${u32(2 * D + 1)}] = ${has('akin') ? 'u.cKin * akin[b]' : '0.0'};
  cot[cb + ${u32(2 * D + 2)}] = ${has('afrob') ? 'u.cFrob * afrob[b]' : '0.0'};
}
`;
}

/**
 * dθ: one invocation per weight (i, j) of each layer, then one per output unit j (its bias and
 * time parameters). Bindings: theta, ws, dtheta, uniforms.
 */
export function paramsShader(net: WgslNet): string {
  const o = netLayout(net);
  const w = o.wsStride;
  const fns: string[] = [];
  const branches: string[] = [];
  for (const ly of o.layers) {
    const { l, n, m, off, bo, ws, slot0 } = ly;
    // GW(i, j) = Σ_b vb_l[b,i] u_l[b,j] + a_{l-1}[b,i] sb_l[b,j]
    fns.push(`fn gw${l}(i: u32, j: u32) -> f32 {
  var s = 0.0;
  for (var b = 0u; b < u.B; b++) {
    let wb = b * ${u32(w)};
    s += ws[wb + ${u32(ws)} + i] * ws[wb + ${u32(ws + 2 * n)} + j] + ws[wb + ${u32(ws + n)} + i] * ws[wb + ${u32(ws + 2 * n + m)} + j];
  }
  return s;
}`);
    const gate = net.kind === 'concatsquash' ? `sigm(u.t * theta[${bo + m}u + j] + theta[${bo + 2 * m}u + j])` : '1.0';
    let unit: string;
    if (net.kind === 'concatsquash') {
      unit = `let gj = ${gate};
      var gc = 0.0;
      for (var b = 0u; b < u.B; b++) { gc += ws[b * ${u32(w)} + ${u32(ws + 2 * n + m)} + j]; }
      var gbar = theta[${bo}u + j] * gc;
      for (var b = 0u; b < u.B; b++) { gbar += ws[b * ${u32(w)} + ${u32(ws + 2 * n + 2 * m)} + j]; }
      let sp = gj * (1.0 - gj);
      dtheta[${bo}u + j] = u.sign * gc * gj;
      dtheta[${bo + m}u + j] = u.sign * u.t * sp * gbar;
      dtheta[${bo + 2 * m}u + j] = u.sign * sp * gbar;
      dtheta[${bo + 3 * m}u + j] = u.sign * u.t * gc;`;
    } else {
      unit = `var gc = 0.0;
      for (var b = 0u; b < u.B; b++) { gc += ws[b * ${u32(w)} + ${u32(ws + 2 * n + m)} + j]; }
      dtheta[${bo}u + j] = u.sign * gc;${net.kind === 'concat' ? `\n      dtheta[${bo + m}u + j] = u.sign * u.t * gc;` : ''}`;
    }
    branches.push(`if (s >= ${u32(slot0)} && s < ${u32(slot0 + n * m)}) {
    let p = s - ${u32(slot0)}; let i = p / ${u32(m)}; let j = p % ${u32(m)};
    dtheta[${off}u + p] = u.sign * gw${l}(i, j) * ${net.kind === 'concatsquash' ? gate : '1.0'};
  } else if (s >= ${u32(slot0 + n * m)} && s < ${u32(slot0 + n * m + m)}) {
    let j = s - ${u32(slot0 + n * m)};
    ${unit}
  }`);
  }
  return `${UNIFORMS_WGSL}
@group(0) @binding(0) var<storage, read> theta: array<f32>;
@group(0) @binding(1) var<storage, read> ws: array<f32>;
@group(0) @binding(2) var<storage, read_write> dtheta: array<f32>;
@group(0) @binding(3) var<uniform> u: U;
${WGSL_SIGMOID}
${fns.join('\n')}
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  _ = theta[0]; // bound whatever the layer kind reads
  let s = gid.x + gid.y * u.nx * ${u32(WG)};
  ${branches.join(' else ')}
}
`;
}

/**
 * One invocation per sample: f, c_div·div, c_kin·kin, c_frob·frob (withForward) and sign·dz from the
 * workspace. Bindings: ws, [f, div, kin, frob], dz, uniforms.
 */
export function gatherShader(net: WgslNet, withForward: boolean): string {
  const { D, wsStride: w } = netLayout(net);
  const names = withForward ? ['fo', 'divo', 'kino', 'frobo', 'dzo'] : ['dzo'];
  const bind = [`@group(0) @binding(0) var<storage, read> ws: array<f32>;`, ...names.map((n, i) => `@group(0) @binding(${i + 1}) var<storage, read_write> ${n}: array<f32>;`)];
  bind.push(`@group(0) @binding(${names.length + 1}) var<uniform> u: U;`);
  const fwd = withForward
    ? `fo[b * ${u32(D)} + k] = ws[wb + k];`
    : '';
  const sums = withForward ? `divo[b] = u.cDiv * ws[wb + ${u32(D)}]; kino[b] = u.cKin * ws[wb + ${u32(D + 1)}]; frobo[b] = u.cFrob * ws[wb + ${u32(D + 2)}];` : '';
  return `${UNIFORMS_WGSL}
${bind.join('\n')}
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let b = gid.x + gid.y * u.nx * ${u32(WG)};
  if (b >= u.B) { return; }
  let wb = b * ${u32(w)};
  for (var k = 0u; k < ${u32(D)}; k++) {
    ${fwd}
    dzo[b * ${u32(D)} + k] = u.sign * ws[wb + ${u32(D + 3)} + k];
  }
  ${sums}
}
`;
}
