/**
 * `qkv lab residual`: why every sublayer is wrapped as x + Sublayer(x).
 *
 * A stack of L pre-LN feed-forward blocks, Sublayer(x) = W₂·ReLU(W₁·LayerNorm(x)), with the
 * residual (x + Sublayer(x), as in GPT-2) or without it (Sublayer(x) alone), learns a random
 * teacher's classification of random inputs. Reported per depth: the gradient norm reaching
 * the first and the last block at initialisation, and the loss after training; plotted: the
 * gradient norm of every block of the deepest stack.
 *
 * Legend: B = batch, C = width, K = classes, L = depth.
 */
import { Linear } from '../../nn/linear.ts';
import { Module } from '../../nn/module.ts';
import { ModuleList } from '../../nn/module-list.ts';
import { LayerNorm } from '../../nn/norm.ts';
import { Adam } from '../../optim/adam.ts';
import { gradNorm } from '../../optim/clip.ts';
import { crossEntropy } from '../../tensor/ops/loss.ts';
import { Rng } from '../../tensor/random.ts';
import { Tensor } from '../../tensor/tensor.ts';
import { numberListParam, numberParam, type Experiment, type ExperimentResult, type Series } from '../experiment.ts';

class FeedForwardBlock extends Module {
  ln: LayerNorm;
  fc: Linear;
  proj: Linear;
  constructor(width: number, rng: Rng) {
    super();
    this.ln = new LayerNorm(width);
    this.fc = new Linear(width, 2 * width, { rng });
    this.proj = new Linear(2 * width, width, { rng });
  }
  forward(x: Tensor, residual: boolean): Tensor {
    const update = this.proj.forward(this.fc.forward(this.ln.forward(x)).relu()); // (B, C)
    return residual ? x.add(update) : update;
  }
}

class DeepStack extends Module {
  blocks: ModuleList<FeedForwardBlock>;
  head: Linear;
  constructor(width: number, depth: number, classes: number, rng: Rng) {
    super();
    this.blocks = new ModuleList(Array.from({ length: depth }, () => new FeedForwardBlock(width, rng)));
    this.head = new Linear(width, classes, { rng });
  }
  forward(x: Tensor, residual: boolean): Tensor {
    let h = x;
    for (const block of this.blocks) h = block.forward(h, residual);
    return this.head.forward(h); // (B, K)
  }
}

export interface ResidualRun {
  depth: number;
  residual: boolean;
  /** ‖∂L/∂θ‖ of each block at initialisation, first block first. */
  blockGradNorms: number[];
  finalLoss: number;
}

function teacherBatch(teacher: Tensor, batch: number, rng: Rng): { x: Tensor; targets: number[] } {
  const [width, classes] = teacher.shape;
  const x = Tensor.randn([batch, width], { rng }); // (B, C)
  const scores = x.matmul(teacher).contiguousData(); // (B, K)
  const targets = Array.from({ length: batch }, (_, b) => {
    let best = 0;
    for (let k = 1; k < classes; k++) if (scores[b * classes + k] > scores[b * classes + best]) best = k;
    return best;
  });
  return { x, targets };
}

export function runResidual(depth: number, residual: boolean, options: { width: number; classes: number; batch: number; steps: number; lr: number; seed: number }): ResidualRun {
  const { width, classes, batch } = options;
  const teacher = Tensor.randn([width, classes], { rng: new Rng(options.seed + 5) });
  const model = new DeepStack(width, depth, classes, new Rng(options.seed));
  const optimizer = new Adam(model.parameters(), { lr: options.lr });
  const data = new Rng(options.seed + 1);
  let blockGradNorms: number[] = [];
  const losses: number[] = [];
  for (let step = 0; step < Math.max(1, options.steps); step++) {
    const { x, targets } = teacherBatch(teacher, batch, data);
    const loss = crossEntropy(model.forward(x, residual), targets);
    optimizer.zeroGrad();
    loss.backward();
    if (step === 0) blockGradNorms = [...model.blocks].map((block) => gradNorm(block.parameters()));
    if (options.steps > 0) optimizer.step();
    losses.push(loss.item());
  }
  const tail = losses.slice(-Math.max(1, Math.floor(losses.length / 10)));
  return { depth, residual, blockGradNorms, finalLoss: tail.reduce((a, b) => a + b, 0) / tail.length };
}

export const residualExperiment: Experiment = {
  name: 'residual',
  description: 'with vs without residual connections as depth grows: gradient norm per block and training loss',
  params: [
    { name: 'depths', description: 'stack depths, comma-separated', default: '2,4,8,16,32', quick: '2,8,24' },
    { name: 'width', description: 'block width (C)', default: 16 },
    { name: 'classes', description: 'teacher classes (K)', default: 4 },
    { name: 'batch', description: 'examples per step', default: 32 },
    { name: 'steps', description: 'training steps per run', default: 150, quick: 40 },
    { name: 'lr', description: 'Adam learning rate', default: 0.003 },
  ],
  run(params, { seed, onProgress }): ExperimentResult {
    const depths = numberListParam(params, 'depths');
    const options = { width: numberParam(params, 'width'), classes: numberParam(params, 'classes'), batch: numberParam(params, 'batch'), steps: numberParam(params, 'steps'), lr: numberParam(params, 'lr'), seed };
    const runs: ResidualRun[] = [];
    let done = 0;
    for (const depth of depths) {
      for (const residual of [true, false]) {
        runs.push(runResidual(depth, residual, options));
        onProgress(++done, depths.length * 2, { depth });
      }
    }
    const deepest = Math.max(...depths);
    const series: Series[] = runs
      .filter((run) => run.depth === deepest)
      .map((run) => ({ name: run.residual ? 'residual' : 'no residual', points: run.blockGradNorms.map((norm, i) => [i + 1, Math.max(norm, 1e-30)] as [number, number]) }));
    const deepRuns = runs.filter((run) => run.depth === deepest);
    return {
      columns: ['depth', 'variant', '‖grad‖ first block', '‖grad‖ last block', 'first / last', 'final loss'],
      rows: runs.map((run) => [run.depth, run.residual ? 'residual' : 'no residual', run.blockGradNorms[0], run.blockGradNorms.at(-1)!, run.blockGradNorms[0] / run.blockGradNorms.at(-1)!, run.finalLoss]),
      plot: { title: `gradient norm per block at initialisation, depth ${deepest}`, xLabel: 'block (1 = nearest the input)', yLabel: '‖∂L/∂θ_block‖', kind: 'line', logY: true, series },
      findings: deepRuns.map((run) => `Depth ${deepest} ${run.residual ? 'with' : 'without'} residuals: first-block gradient ${run.blockGradNorms[0].toExponential(2)}, last ${run.blockGradNorms.at(-1)!.toExponential(2)}, final loss ${run.finalLoss.toFixed(3)}.`),
    };
  },
};
