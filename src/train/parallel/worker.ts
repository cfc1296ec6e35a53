/**
 * One data-parallel worker (a `worker_threads` thread started by `trainParallel`).
 *
 * Every step, all workers draw the same global batch of workers·B windows from identically
 * seeded samplers and each keeps its own B rows, so N workers see exactly the batch one worker
 * of batch N·B would. Then:
 *
 *   DDP   full replica, full AdamW state; gradients all-reduced (mean) bucket by bucket, the
 *         global norm clipped, the same AdamW step on every rank.
 *   FSDP  (ZeRO-3) each rank owns a contiguous shard of the flat parameter vector: its fp32
 *         master copy, its AdamW state and, during a step, its gradient shard. Between steps
 *         the replica holds no parameters at all. A step gathers the root unit (embeddings,
 *         final norm) for its whole length, and each transformer block only while it runs:
 *         gathered before its forward and freed after, gathered again for its backward, its
 *         gradients reduce-scattered into the shard as soon as that backward is done and then
 *         dropped (block-sharding.ts, fsdp-shards.ts). Each rank then steps only its shard.
 *
 * Options: DDP `overlapShared` starts each bucket's all-reduce as soon as backward has finished
 * its gradients (overlapped-all-reduce.ts); FSDP `prefetchShared` publishes this rank's piece of
 * the next block while the current one computes (prefetch-gather.ts). Every step each rank posts
 * where its time went (step-timer.ts).
 *
 * Every `checkpointInterval` steps the owners send their part (weights, AdamW state) so the
 * launcher writes an ordinary checkpoint mid-run.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { setKernelThreads } from '../../kernels/index.ts';
import type { CausalLM } from '../../models/causal-lm.ts';
import { GPT } from '../../models/gpt.ts';
import { Llama } from '../../models/llama.ts';
import { noInitWeights } from '../../nn/init.ts';
import { AdamW, LRScheduler, clipGradNorm, warmupCosineSchedule } from '../../optim/index.ts';
import { defaultRng, Rng } from '../../tensor/random.ts';
import { Tensor } from '../../tensor/tensor.ts';
import { TokenDataset } from '../data.ts';
import type { TrainConfig } from '../trainer.ts';
import { shardBlockForwards } from './block-sharding.ts';
import { SharedCollective } from './collective.ts';
import { copyFromFlat, copyToFlat, flatLayout, segmentsOf, type FlatLayout } from './flat-layout.ts';
import { denseGradient, FsdpShards, liveBytes, shardUnits, transformerBlocks } from './fsdp-shards.ts';
import { gatherSegments, planUnitShards, type UnitShardPlan } from './unit-shards.ts';
import { exposeGc, MemoryMeter } from './memory-meter.ts';
import { loadFlatOptimizerState, readFlatOptimizerState } from './optimizer-flat.ts';
import type { CheckpointMessage, DoneMessage, OwnedState, StepMessage, TimingMessage, WorkerInit } from './protocol.ts';
import { GradientReadyHooks } from './gradient-ready.ts';
import { OverlappedAllReduce } from './overlapped-all-reduce.ts';
import { PrefetchingGather } from './prefetch-gather.ts';
import { StepTimer } from './step-timer.ts';
import { LossScaler, roundToPrecision } from '../precision.ts';

function buildReplica(init: WorkerInit): CausalLM {
  const config = init.replica.config as never;
  return noInitWeights(() => (init.replica.arch === 'gpt' ? new GPT(config) : new Llama(config)));
}

/** This worker's rows of a global batch tensor (B_global, T). */
function rowsOf(tensor: Tensor, rank: number, rowsPerWorker: number, blockSize: number): Tensor {
  const from = rank * rowsPerWorker * blockSize;
  return new Tensor(tensor.data.slice(from, from + rowsPerWorker * blockSize), [rowsPerWorker, blockSize]);
}

/** nanoGPT's grouping (as the single-worker trainer): decay matrices, not biases and norm gains. */
function decays(param: Tensor): boolean {
  return param.ndim >= 2;
}

function makeOptimizer(tensors: { tensor: Tensor; decay: boolean }[], config: TrainConfig): { optimizer: AdamW; scheduler: LRScheduler } {
  const groups = [
    { params: tensors.filter((t) => t.decay).map((t) => t.tensor) },
    { params: tensors.filter((t) => !t.decay).map((t) => t.tensor), weightDecay: 0 },
  ].filter((group) => group.params.length > 0);
  const optimizer = new AdamW(groups, { lr: config.learningRate, betas: [config.beta1, config.beta2], weightDecay: config.weightDecay });
  const scheduler = new LRScheduler(
    optimizer,
    warmupCosineSchedule({ maxLr: config.learningRate, minLr: config.minLearningRate, warmupSteps: config.warmupSteps, totalSteps: config.steps }),
  );
  return { optimizer, scheduler };
}

function run(init: WorkerInit): void {
  const { rank, worldSize, config, strategy } = init;
  // Each worker's kernels run on a pool of its own (native: one per JavaScript thread; wasm: its own
  // workers), cores / workers threads each, so the workers share the cores instead of taking turns.
  setKernelThreads(init.kernelThreads);
  const model = buildReplica(init);
  const params = model.parameters().filter((p) => p.requiresGrad);
  const layout: FlatLayout = flatLayout(params.map((p) => p.size), init.bucketElements);
  const timer = new StepTimer();
  const comm = new SharedCollective(init.shared, rank, worldSize, layout.bucketCapacity, timer);
  const dataset = new TokenDataset(init.trainTokens, 0);
  const dataRng = new Rng(0);
  dataRng.setState(init.dataRng);
  defaultRng.seed(config.seed + 1000 * rank + init.startStep); // dropout masks differ per rank
  const meter = new MemoryMeter(init.collectGarbage ? exposeGc() : null);
  const sample = (held: () => number, resting = false): void => timer.time('other', () => meter.sample(held(), resting));
  const fsdp = strategy === 'fsdp';
  // FSDP: rank r owns the r-th 1/N of every unit (root, each block), laid end to end in `master`.
  const units = fsdp ? shardUnits(model, params, layout) : null;
  const plan: UnitShardPlan | null = units === null ? null : planUnitShards([units.root, ...units.blocks], layout, rank, worldSize);
  const segments: [number, number][] = plan === null ? [[0, layout.length]] : plan.segments;
  const shardLength = plan === null ? layout.length : plan.length;
  const mixed = init.precision !== 'fp32';
  const scaler = new LossScaler(init.precision, init.lossScaler);
  if (init.lossScalerState !== null) scaler.loadState(init.lossScalerState);

  // Where the optimiser's tensors live and which flat range each covers.
  const ranges = new Map<Tensor, [number, number]>();
  let master: Float32Array | null = null;
  let shards: FsdpShards | null = null;
  let prefetch: PrefetchingGather | null = null;
  let pieces: { tensor: Tensor; decay: boolean }[];
  if (fsdp) {
    master = gatherSegments(init.params, segments);
    pieces = plan!.units.flatMap(({ unit, layout: unitLayout, piece, masterOffset }) =>
      segmentsOf(unitLayout, piece[0], piece[1]).map(({ param, shardOffset, from, to }) => {
        const at = masterOffset + shardOffset;
        const tensor = new Tensor(master!.subarray(at, at + to - from), [to - from], undefined, 0, true);
        ranges.set(tensor, [at, at + to - from]);
        return { tensor, decay: decays(params[unit.params[param]]) };
      }),
    );
    prefetch = init.prefetchShared === null ? null : new PrefetchingGather(init.prefetchShared.buffer, rank, worldSize, init.prefetchShared.largestUnitElements, timer);
    shards = new FsdpShards(params, comm, plan!, master, init.precision, prefetch);
    shards.releaseAll();
  } else {
    copyFromFlat(layout, params.map((p) => p.data as Float32Array), 0, layout.length, init.params);
    // Mixed precision: AdamW updates fp32 master copies; the replica holds them rounded to 16 bits.
    pieces = params.map((param, p) => {
      const tensor = mixed ? new Tensor((param.data as Float32Array).slice(), [...param.shape], undefined, 0, true) : param;
      ranges.set(tensor, [layout.offsets[p], layout.offsets[p] + layout.sizes[p]]);
      return { tensor, decay: decays(param) };
    });
    for (const param of params) roundToPrecision(param.data as Float32Array, init.precision);
  }
  (init as { params: Float32Array | null }).params = null; // let the starting copy go
  const { optimizer, scheduler } = makeOptimizer(pieces, config);
  if (init.optimizer !== null) {
    const source = init.optimizer;
    loadFlatOptimizerState(optimizer, ranges, fsdp ? { step: source.step, expAvg: gatherSegments(source.expAvg, segments), expAvgSq: gatherSegments(source.expAvgSq, segments) } : source);
    (init as { optimizer: unknown }).optimizer = null;
  }
  scheduler.loadStateDict({ step: init.startStep });

  // Counted bytes: every distinct live buffer among the replica's parameters and gradients, the
  // optimiser's tensors (FSDP: views of the master shard; mixed DDP: fp32 copies), their AdamW
  // state and the gradient shard. The replica's 16-bit values live in Float32Arrays (rounded, not packed).
  const heldBytes = (): number =>
    liveBytes([
      ...params.flatMap((p) => [p.data, p.grad?.data]),
      ...pieces.flatMap(({ tensor }) => [tensor.data, tensor.grad?.data, ...Object.values(optimizer.stateOf(tensor)?.buffers ?? {})]),
      master,
      shards?.gradShard,
    ]);
  sample(heldBytes, true);
  // FSDP prefetch: the step's gathers in the order it makes them (the root, then per micro-batch
  // the blocks forward and, recomputed for backward, in reverse).
  const gatherSchedule = !fsdp ? [] : shards!.scheduleOf([
    units!.root,
    ...Array.from({ length: config.gradientAccumulationSteps }, () => [...units!.blocks, ...[...units!.blocks].reverse()]).flat(),
  ]);
  if (fsdp) {
    const blockUnits = units!.blocks;
    shardBlockForwards(transformerBlocks(model), {
      gather: (b) => {
        timer.time('gather', () => shards!.gather(blockUnits[b]));
        sample(heldBytes);
      },
      release: (b) => shards!.release(blockUnits[b]),
      reduce: (b) => {
        sample(heldBytes); // the block's full parameters and gradients, beside the root's: the peak
        timer.time('gradComm', () => shards!.reduce(blockUnits[b]));
      },
    });
  }
  // DDP overlap: a parameter's gradient, once final inside the last micro-batch's backward, is made
  // dense (16-bit rounded) and its bucket published when complete.
  const overlapped = fsdp || init.overlapShared === null ? null : new OverlappedAllReduce(init.overlapShared, rank, worldSize, layout, timer);
  const readyGrads: (Float32Array | null)[] = params.map(() => null);
  const finalGradient = (p: number): Float32Array => {
    const grad = denseGradient(params[p]);
    roundToPrecision(grad, init.precision); // 16-bit gradient storage: this is where an fp16 overflow becomes ±inf
    return grad;
  };
  const gradientHooks = overlapped === null ? null : new GradientReadyHooks(params, (p) => {
    timer.time('gradComm', () => {
      readyGrads[p] = finalGradient(p);
      overlapped.ready(p, readyGrads);
    });
  });

  /** What this rank owns now (copies): DDP rank 0 everything (fp32 master values), FSDP its shard. */
  const ownedState = (): OwnedState => {
    const owned = fsdp ? master!.slice() : new Float32Array(layout.length);
    if (!fsdp) copyToFlat(layout, pieces.map(({ tensor }) => tensor.data as Float32Array), 0, layout.length, owned);
    return { rank, start: segments[0]?.[0] ?? 0, end: segments.at(-1)?.[1] ?? 0, segments, params: owned, optimizer: readFlatOptimizerState(optimizer, ranges, shardLength), dataRng: dataRng.getState(), lossScaler: scaler.state() };
  };
  const owns = fsdp || rank === 0;

  model.train();
  const rowsPerWorker = config.batchSize;
  for (let s = 0; s < init.stepsToRun; s++) {
    const started = performance.now();
    timer.begin();
    let gradShard: Float32Array | null = null;
    if (fsdp) {
      gradShard = shards!.beginStep();
      prefetch?.beginStep(gatherSchedule, master!);
      timer.time('gather', () => shards!.gather(units!.root));
    }
    const lossScale = scaler.scale;
    let loss = 0;
    for (let micro = 0; micro < config.gradientAccumulationSteps; micro++) {
      const batch = dataset.sampleBatch('train', rowsPerWorker * worldSize, config.blockSize, dataRng);
      const scaled = timer.time('forward', () => {
        const out = model.forward(rowsOf(batch.ids, rank, rowsPerWorker, config.blockSize), { targets: rowsOf(batch.targets, rank, rowsPerWorker, config.blockSize) });
        return out.loss!.mul(lossScale / config.gradientAccumulationSteps);
      });
      const last = micro === config.gradientAccumulationSteps - 1;
      if (last && gradientHooks !== null) {
        readyGrads.fill(null);
        overlapped!.begin();
        gradientHooks.arm(); // only the last micro-batch's assignments are final sums
      }
      try {
        timer.time('backward', () => scaled.backward());
      } finally {
        gradientHooks?.disarm();
      }
      loss += scaled.item() / lossScale;
    }
    let gradNorm: number;
    if (fsdp) {
      sample(heldBytes); // the root's full parameters and gradients
      timer.time('gradComm', () => shards!.reduce(units!.root));
      shards!.release(units!.root);
      timer.enter('optimizer');
      if (lossScale !== 1) for (let i = 0; i < shardLength; i++) gradShard![i] /= lossScale;
      let sumSquares = 0;
      for (let i = 0; i < shardLength; i++) sumSquares += gradShard![i] * gradShard![i];
      gradNorm = Math.sqrt(comm.allReduceSum([sumSquares])[0]);
      // As clipGradNorm: scale by maxNorm / (norm + 1e-6) when that is below 1; skip on a non-finite norm.
      const coefficient = config.gradClip > 0 && Number.isFinite(gradNorm) ? config.gradClip / (gradNorm + 1e-6) : 1;
      if (coefficient < 1) for (let i = 0; i < shardLength; i++) gradShard![i] *= coefficient;
      for (const { tensor } of pieces) {
        const [a, b] = ranges.get(tensor)!;
        tensor.grad = new Tensor(gradShard!.subarray(a, b), [b - a]);
      }
    } else {
      let grads: Float32Array[];
      if (overlapped !== null) {
        // Parameters backward gave no gradient to (none in the models, but possible) count as zeros.
        grads = timer.time('gradComm', () => params.map((_, p) => (readyGrads[p] ??= finalGradient(p))));
        sample(heldBytes); // full parameters and full gradients: the peak
        overlapped.finish(grads);
      } else {
        grads = params.map((_, p) => finalGradient(p));
        sample(heldBytes); // full parameters and full gradients: the peak
        timer.time('gradComm', () => comm.allReduceMean(layout, grads));
      }
      timer.enter('optimizer');
      if (lossScale !== 1) for (const grad of grads) for (let i = 0; i < grad.length; i++) grad[i] /= lossScale;
      gradNorm = clipGradNorm(params, config.gradClip > 0 ? config.gradClip : Infinity);
      if (mixed) pieces.forEach(({ tensor }, p) => (tensor.grad = params[p].grad));
    }
    const lr = optimizer.lr;
    // The norm is the same on every rank (all-reduced), so every rank skips the same steps.
    const applied = scaler.update(Number.isFinite(gradNorm));
    if (applied) optimizer.step();
    optimizer.zeroGrad();
    if (!fsdp) for (const param of params) param.grad = null;
    if (mixed && !fsdp && applied) {
      pieces.forEach(({ tensor }, p) => {
        (params[p].data as Float32Array).set(tensor.data);
        roundToPrecision(params[p].data as Float32Array, init.precision);
      });
    }
    scheduler.step();
    timer.leave('optimizer');
    if (shards !== null) shards.gradShard = null;
    gradShard = null;
    sample(heldBytes, true);
    const meanLoss = comm.allReduceSum([loss])[0] / worldSize;
    const step = init.startStep + s + 1;
    parentPort!.postMessage({ type: 'timing', step, timing: timer.end(rank) } satisfies TimingMessage);
    if (rank === 0) {
      const message: StepMessage = {
        type: 'step', step, loss: meanLoss, lr, gradNorm, seconds: (performance.now() - started) / 1000,
        lossScale, skipped: !applied, skippedSteps: scaler.skippedSteps,
      };
      parentPort!.postMessage(message);
    }
    // As the single-worker trainer: a mid-run checkpoint on the interval, not on the run's last step of this call.
    const midRun = s < init.stepsToRun - 1 && step !== config.steps;
    if (owns && midRun && config.checkpointInterval > 0 && step % config.checkpointInterval === 0) {
      parentPort!.postMessage({ type: 'checkpoint', step, ...ownedState() } satisfies CheckpointMessage);
    }
  }

  // Hand back what this rank owns: DDP rank 0 everything, FSDP every rank its shard.
  const done: DoneMessage = owns
    ? { type: 'done', memory: meter.report(rank), ...ownedState() }
    : { type: 'done', rank, start: 0, end: 0, params: new Float32Array(0), optimizer: { step: 0, expAvg: new Float32Array(0), expAvgSq: new Float32Array(0) }, dataRng: dataRng.getState(), memory: meter.report(rank), lossScaler: scaler.state() };
  parentPort!.postMessage(done);
}

run(workerData as WorkerInit);
