/**
 * The baseline for `bench/gpt.ts`: the same GPT-2 model as `src/models/gpt.ts`, written with
 * TensorFlow.js ops and `tf.variable`s and trained on the tfjs WebAssembly backend. For the bench
 * only; nothing in `src/` imports it.
 *
 * Legend: B = batch, T = time, C = channels (n_embd), V = vocab, NH = heads, hs = head size (C/NH).
 *
 *   ids (B,T) → wte + wpe → n_layer × Block → ln_f → logits = h · wteᵀ (B,T,V)
 *   Block: x = x + attn(ln_1(x));  x = x + mlp(ln_2(x))        (pre-LN, as GPT-2)
 *
 * Parameters carry Hugging Face `GPT2LMHeadModel` names and layouts (`h.0.attn.c_attn.weight` is
 * (C, 3C), used as x·W), the same as qkv's, so `loadWeights` can copy a qkv model in and the bench
 * can check that both compute the same loss. No dropout (the bench config has all pdrop = 0).
 *
 * Products are written either as anyone would (`tf.matMul` with its own gradient: the baseline)
 * or around the wasm backend's slow paths (the tuned baseline); see `TfjsMatmuls`.
 *
 * Two departures forced by the wasm backend, neither changing the maths:
 * - The token embedding is one-hot(ids) · wte, not `tf.gather`: gather's gradient needs the
 *   UnsortedSegmentSum kernel, which tfjs-backend-wasm 4.22 does not have. (2·B·T·V·C flops,
 *   50 MFLOP per step here, under 1% of the step.)
 * - AdamW is `tf.train.adam` plus the decoupled weight decay applied by hand before its step
 *   (`tf.train.adam` has no weight decay), on matrices only as the qkv trainer does.
 */
import * as tf from '@tensorflow/tfjs';

export interface TfjsGPTConfig {
  vocab_size: number;
  n_positions: number;
  n_embd: number;
  n_layer: number;
  n_head: number;
  layer_norm_epsilon: number;
  initializer_range: number;
}

/** TensorFlow.js on its WebAssembly backend with `threads` threads (throws when it cannot start). */
export async function useTfjsWasm(threads: number): Promise<void> {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  wasm.setThreadsCount(threads);
  if (!(await tf.setBackend('wasm'))) throw new Error('tf.setBackend("wasm") returned false');
  await tf.ready();
}

/**
 * Threads the tfjs wasm backend actually runs on. In Node this is 1 whatever was asked: tfjs
 * turns its threaded build off there (`WASM_HAS_MULTITHREAD_SUPPORT` is false under Node,
 * tensorflow/tfjs#3830), and forcing it on fails (its pthread workers load from blob: URLs,
 * which Node's Worker refuses).
 */
export async function tfjsWasmThreads(): Promise<number> {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  return wasm.getThreadsCount();
}

/** Names and shapes of every parameter, in HF order, each once (the LM head is tied to wte). */
export function gptParameterShapes(config: TfjsGPTConfig): [string, number[]][] {
  const { vocab_size: V, n_positions: P, n_embd: C } = config;
  const shapes: [string, number[]][] = [
    ['wte.weight', [V, C]],
    ['wpe.weight', [P, C]],
  ];
  for (let layer = 0; layer < config.n_layer; layer++) {
    const h = `h.${layer}`;
    shapes.push(
      [`${h}.ln_1.weight`, [C]],
      [`${h}.ln_1.bias`, [C]],
      [`${h}.attn.c_attn.weight`, [C, 3 * C]],
      [`${h}.attn.c_attn.bias`, [3 * C]],
      [`${h}.attn.c_proj.weight`, [C, C]],
      [`${h}.attn.c_proj.bias`, [C]],
      [`${h}.ln_2.weight`, [C]],
      [`${h}.ln_2.bias`, [C]],
      [`${h}.mlp.c_fc.weight`, [C, 4 * C]],
      [`${h}.mlp.c_fc.bias`, [4 * C]],
      [`${h}.mlp.c_proj.weight`, [4 * C, C]],
      [`${h}.mlp.c_proj.bias`, [C]],
    );
  }
  shapes.push(['ln_f.weight', [C]], ['ln_f.bias', [C]]);
  return shapes;
}

/**
 * How the model's matrix products are written:
 * - 'tfjs': `tf.matMul` with its transpose flags and its own gradient, as anyone would write it.
 *   On tfjs-backend-wasm 4.22 a product with a transposed operand takes a slow path (measured at
 *   B·T = 2048, C = 128: x·W 28 ms, xᵀ·dy 900 ms, dy·Wᵀ 380 ms), and the gradient of every
 *   x·W is made of exactly those two, so they dominate a training step.
 * - 'tuned': the same products through `tf.customGrad`, the operand transposed by `tf.transpose`
 *   first so that no `tf.matMul`, forward or backward, has a transpose flag; and batched
 *   (B, NH, …) products split into one 2-D product per (batch, head), which the wasm backend runs
 *   about 4× faster than its batched kernel (64 × (128×128)·(128×32): 12 ms against 45 ms). The
 *   same maths; the best baseline we could write with tfjs ops.
 */
export type TfjsMatmuls = 'tfjs' | 'tuned';

/** a · b over the last two axes (rank 2 or 4, equal batch axes), with a gradient that uses no transpose flags. */
const matMulTransposeFree = tf.customGrad((...inputs: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [a, b, save] = inputs as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
  save([a, b]);
  return {
    value: tf.matMul(a, b),
    // d(a·b)/da = dy · bᵀ, d(a·b)/db = aᵀ · dy
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [tf.matMul(dy, swapLastAxes(saved[1])), tf.matMul(swapLastAxes(saved[0]), dy)],
  };
}) as (a: tf.Tensor, b: tf.Tensor) => tf.Tensor;

/** a (…, m, k) · b (…, k, n) with equal batch axes, as one 2-D `matMulTransposeFree` per matrix. */
function matMulPerMatrix(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  if (a.rank === 2) return matMulTransposeFree(a, b);
  const batchShape = a.shape.slice(0, -2);
  const [m, k] = a.shape.slice(-2);
  const n = b.shape[b.rank - 1];
  const count = a.size / (m * k);
  // tf.split, not tf.unstack: the wasm Unpack kernel is ~40× slower than SplitV here.
  const as = tf.split(tf.reshape(a, [count * m, k]), count, 0); // count × (m, k)
  const bs = tf.split(tf.reshape(b, [count * k, n]), count, 0); // count × (k, n)
  return tf.reshape(tf.concat(as.map((matrix, i) => matMulTransposeFree(matrix, bs[i])), 0), [...batchShape, m, n]);
}

/** x with its last two axes swapped, materialised by `tf.transpose`. */
function swapLastAxes(x: tf.Tensor): tf.Tensor {
  const perm = x.shape.map((_, axis) => axis);
  [perm[x.rank - 2], perm[x.rank - 1]] = [perm[x.rank - 1], perm[x.rank - 2]];
  return tf.transpose(x, perm);
}

export class TfjsGPT {
  /** Every parameter by its HF name (without the `transformer.` prefix). */
  readonly params = new Map<string, tf.Variable>();
  /** (T, T) additive causal mask for the longest context: 0 on and below the diagonal, −1e9 above. */
  private readonly causalMask: tf.Tensor2D;
  private static instances = 0;
  readonly matmuls: TfjsMatmuls;

  /**
   * GPT-2 init: normal(0, 0.02), residual projections scaled by 1/√(2·n_layer), biases 0,
   * LayerNorm gains 1. `matmuls` picks how products are written (see `TfjsMatmuls`).
   */
  constructor(readonly config: TfjsGPTConfig, options: { seed?: number; matmuls?: TfjsMatmuls } = {}) {
    this.matmuls = options.matmuls ?? 'tfjs';
    const seed = options.seed ?? 1337;
    // tfjs variable names are global: a prefix per instance lets several models coexist.
    const prefix = `gpt${TfjsGPT.instances++}/`;
    const std = config.initializer_range;
    let draw = seed;
    for (const [name, shape] of gptParameterShapes(config)) {
      let init: tf.Tensor;
      if (name.endsWith('.bias')) init = tf.zeros(shape);
      else if (/ln_\d\.weight$|ln_f\.weight$/.test(name)) init = tf.ones(shape);
      else if (name.endsWith('c_proj.weight')) init = tf.randomNormal(shape, 0, std / Math.sqrt(2 * config.n_layer), 'float32', draw++);
      else init = tf.randomNormal(shape, 0, std, 'float32', draw++);
      this.params.set(name, tf.variable(init, true, prefix + name));
      init.dispose();
    }
    const P = config.n_positions;
    // −1e9, not −∞: the mask is built as (band − 1)·1e9, and 0·∞ would be NaN. exp(−1e9) is exactly
    // 0 in float32, so no weight leaks to future positions.
    this.causalMask = tf.tidy(() => tf.sub(tf.linalg.bandPart(tf.ones([P, P]), -1, 0), 1).mul(1e9)) as tf.Tensor2D;
  }

  /** Copies weights in by name (e.g. from a qkv GPT's `namedParameters()`); shapes must match. */
  loadWeights(weights: Iterable<[string, Float32Array]>): void {
    const seen = new Set<string>();
    for (const [name, values] of weights) {
      const variable = this.params.get(name);
      if (variable === undefined) throw new Error(`TfjsGPT.loadWeights: unknown parameter ${name}`);
      if (values.length !== variable.size) throw new Error(`TfjsGPT.loadWeights: ${name} has ${values.length} values, expected ${variable.size} (${variable.shape.join('x')})`);
      tf.tidy(() => variable.assign(tf.tensor(values, variable.shape)));
      seen.add(name);
    }
    const missing = [...this.params.keys()].filter((name) => !seen.has(name));
    if (missing.length > 0) throw new Error(`TfjsGPT.loadWeights: no values for ${missing.join(', ')}`);
  }

  parameterCount(): number {
    let count = 0;
    for (const variable of this.params.values()) count += variable.size;
    return count;
  }

  private p(name: string): tf.Variable {
    return this.params.get(name)!;
  }

  /** a · b, or a · bᵀ (last two axes) with `transposeB`, as the model's `matmuls` option says. */
  private matMul<T extends tf.Tensor>(a: T, b: tf.Tensor, transposeB = false): T {
    if (this.matmuls === 'tfjs') return tf.matMul(a, b, false, transposeB) as T;
    return matMulPerMatrix(a, transposeB ? swapLastAxes(b) : b) as T;
  }

  /** x (N, in) · W (in, out) + b: HF's Conv1D. */
  private conv1d(x: tf.Tensor2D, name: string): tf.Tensor2D {
    return tf.add(this.matMul(x, this.p(`${name}.weight`)), this.p(`${name}.bias`));
  }

  /** reference: torch.nn.LayerNorm over the last axis, biased variance. x (N, C). */
  private layerNorm(x: tf.Tensor2D, name: string): tf.Tensor2D {
    const { mean, variance } = tf.moments(x, -1, true);
    const normalised = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, this.config.layer_norm_epsilon)));
    return tf.add(tf.mul(normalised, this.p(`${name}.weight`)), this.p(`${name}.bias`));
  }

  /** Causal multi-head self-attention of x (B·T, C) → (B·T, C). */
  private attention(x: tf.Tensor2D, layer: number, B: number, T: number): tf.Tensor2D {
    const C = this.config.n_embd;
    const NH = this.config.n_head;
    const hs = C / NH;
    const qkv = this.conv1d(x, `h.${layer}.attn.c_attn`); // (B·T, 3C)
    const [q, k, v] = tf.split(qkv, 3, 1).map((part) => tf.transpose(tf.reshape(part, [B, T, NH, hs]), [0, 2, 1, 3])); // 3 × (B, NH, T, hs)
    const mask = T === this.config.n_positions ? this.causalMask : tf.slice(this.causalMask, [0, 0], [T, T]);
    const scores = tf.add(tf.mul(this.matMul(q, k, true), 1 / Math.sqrt(hs)), mask); // (B, NH, T, T)
    const weights = tf.softmax(scores, -1);
    const output = this.matMul(weights, v); // (B, NH, T, hs)
    const merged = tf.reshape(tf.transpose(output, [0, 2, 1, 3]), [B * T, C]) as tf.Tensor2D; // (B, T, NH, hs) → (B·T, C)
    return this.conv1d(merged, `h.${layer}.attn.c_proj`);
  }

  /** GPT-2's "gelu_new": 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))). */
  private gelu(x: tf.Tensor2D): tf.Tensor2D {
    const inner = tf.mul(tf.add(x, tf.mul(tf.mul(tf.mul(x, x), x), 0.044715)), Math.sqrt(2 / Math.PI));
    return tf.mul(tf.mul(x, 0.5), tf.add(tf.tanh(inner), 1));
  }

  /** ids (B, T) int32 → logits (B·T, V). Call inside `tf.tidy` or `tf.variableGrads`. */
  logits(ids: tf.Tensor2D): tf.Tensor2D {
    const [B, T] = ids.shape;
    const { vocab_size: V } = this.config;
    const tokens = this.matMul(tf.oneHot(tf.reshape(ids, [B * T]), V).toFloat(), this.p('wte.weight')); // (B·T, C)
    const positions = T === this.config.n_positions ? this.p('wpe.weight') : tf.slice(this.p('wpe.weight'), [0, 0], [T, -1]); // (T, C)
    let x = tf.reshape(tf.add(tf.reshape(tokens, [B, T, -1]), positions), [B * T, -1]) as tf.Tensor2D; // (B·T, C)
    for (let layer = 0; layer < this.config.n_layer; layer++) {
      x = tf.add(x, this.attention(this.layerNorm(x, `h.${layer}.ln_1`), layer, B, T));
      x = tf.add(x, this.conv1d(this.gelu(this.conv1d(this.layerNorm(x, `h.${layer}.ln_2`), `h.${layer}.mlp.c_fc`)), `h.${layer}.mlp.c_proj`));
    }
    x = this.layerNorm(x, 'ln_f');
    return this.matMul(x, this.p('wte.weight'), true); // (B·T, C) · (C, V), the head tied to wte
  }

  /** Mean softmax cross-entropy of the next-token targets (B, T) int32. */
  loss(ids: tf.Tensor2D, targets: tf.Tensor2D): tf.Scalar {
    const logits = this.logits(ids);
    const labels = tf.oneHot(tf.reshape(targets, [-1]), this.config.vocab_size);
    return tf.losses.softmaxCrossEntropy(labels, logits, undefined, 0, tf.Reduction.MEAN) as tf.Scalar;
  }
}

export interface TfjsAdamWOptions {
  lr: number;
  betas: [number, number];
  eps: number;
  /** Decoupled decay λ, applied to matrices (ndim ≥ 2) only. */
  weightDecay: number;
  /** Clip the global gradient norm to this (0: no clipping; the norm is still computed). */
  gradClip: number;
}

/**
 * One training step as the qkv trainer takes it: forward, backward, global-norm clipping, AdamW.
 * Returns the loss and the gradient norm before clipping.
 */
export class TfjsTrainer {
  private readonly optimizer: tf.AdamOptimizer;
  private readonly variables: tf.Variable[];

  constructor(readonly model: TfjsGPT, readonly options: TfjsAdamWOptions) {
    this.optimizer = tf.train.adam(options.lr, options.betas[0], options.betas[1], options.eps);
    this.variables = [...model.params.values()];
  }

  step(ids: tf.Tensor2D, targets: tf.Tensor2D): { loss: number; gradNorm: number } {
    const { value, grads } = tf.variableGrads(() => this.model.loss(ids, targets), this.variables);
    const gradNorm = tf.tidy(() => tf.sqrt(tf.addN(Object.values(grads).map((g) => tf.sum(tf.square(g))))).dataSync()[0]);
    const { lr, weightDecay, gradClip } = this.options;
    tf.tidy(() => {
      // The 1e-6 keeps a zero norm from dividing by zero, as torch.nn.utils.clip_grad_norm_.
      const clip = gradClip > 0 ? gradClip / (gradNorm + 1e-6) : 1;
      const scaled: { name: string; tensor: tf.Tensor }[] = Object.entries(grads).map(([name, grad]) => ({ name, tensor: clip < 1 ? tf.mul(grad, clip) : grad }));
      // AdamW: p ← p − η·λ·p before the Adam update (torch.optim.AdamW's order).
      if (weightDecay > 0) for (const variable of this.variables) if (variable.rank >= 2) variable.assign(tf.mul(variable, 1 - lr * weightDecay));
      this.optimizer.applyGradients(scaled);
    });
    const loss = value.dataSync()[0];
    value.dispose();
    tf.dispose(grads);
    return { loss, gradNorm };
  }

  dispose(): void {
    this.optimizer.dispose();
  }
}

export { tf };
