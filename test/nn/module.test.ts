import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Module } from '../../src/nn/module.ts';
import { ModuleList } from '../../src/nn/module-list.ts';
import { Sequential } from '../../src/nn/sequential.ts';
import { Linear } from '../../src/nn/linear.ts';
import { Embedding } from '../../src/nn/embedding.ts';
import { Tanh } from '../../src/nn/activations.ts';
import { Buffer, Parameter } from '../../src/nn/parameter.ts';
import { QkvStateDictError, QkvValueError } from '../../src/tensor/errors.ts';
import { Rng } from '../../src/tensor/random.ts';
import { Tensor } from '../../src/tensor/tensor.ts';

// A GPT-2-shaped toy (C = 4 channels, V = 10 tokens, T = 6 positions) written with Hugging
// Face's property names. The norms are a local stand-in (gain + bias), so these tests exercise
// Module alone and not the normalisation ops.
class Norm extends Module {
  weight = new Parameter(Tensor.ones([4]));
  bias = new Parameter(Tensor.zeros([4]));
}

class Attention extends Module {
  readonly c_attn: Linear;
  readonly c_proj: Linear;
  lastScores: Tensor | null = null; // a plain Tensor kept for inspection: not state
  readonly #scratch = new Linear(4, 4); // #private: not discovered
  constructor(rng: Rng) {
    super();
    this.c_attn = new Linear(4, 12, { rng });
    this.c_proj = new Linear(4, 4, { rng });
  }
  scratchSize(): number {
    return this.#scratch.numParameters();
  }
}

class MLP extends Module {
  readonly c_fc: Linear;
  readonly c_proj: Linear;
  constructor(rng: Rng) {
    super();
    this.c_fc = new Linear(4, 16, { rng });
    this.c_proj = new Linear(16, 4, { rng });
  }
}

class Block extends Module {
  readonly ln_1 = new Norm();
  readonly attn: Attention;
  readonly ln_2 = new Norm();
  readonly mlp: MLP;
  constructor(rng: Rng) {
    super();
    this.attn = new Attention(rng);
    this.mlp = new MLP(rng);
  }
}

class TinyGPT extends Module {
  readonly wte: Embedding;
  readonly wpe: Embedding;
  readonly h: ModuleList<Block>;
  readonly ln_f = new Norm();
  readonly head: Sequential;
  readonly config = { n_embd: 4, n_layer: 2 }; // plain data: ignored
  constructor(seed = 0) {
    super();
    const rng = new Rng(seed);
    this.wte = new Embedding(10, 4, { rng });
    this.wpe = new Embedding(6, 4, { rng });
    this.h = new ModuleList([new Block(rng), new Block(rng)]);
    this.head = new Sequential(new Linear(4, 4, { rng }), new Tanh(), new Linear(4, 10, { bias: false, rng }));
  }
}

const blockNames = (i: number) => [
  `h.${i}.ln_1.weight`, `h.${i}.ln_1.bias`,
  `h.${i}.attn.c_attn.weight`, `h.${i}.attn.c_attn.bias`, `h.${i}.attn.c_proj.weight`, `h.${i}.attn.c_proj.bias`,
  `h.${i}.ln_2.weight`, `h.${i}.ln_2.bias`,
  `h.${i}.mlp.c_fc.weight`, `h.${i}.mlp.c_fc.bias`, `h.${i}.mlp.c_proj.weight`, `h.${i}.mlp.c_proj.bias`,
];
const tinyGptNames = [
  'wte.weight', 'wpe.weight', ...blockNames(0), ...blockNames(1),
  'ln_f.weight', 'ln_f.bias', 'head.0.weight', 'head.0.bias', 'head.2.weight',
];

function assertSameValues(actual: Tensor, expected: Tensor, name: string): void {
  assert.deepEqual(actual.shape, expected.shape, `${name}: shape`);
  const a = actual.toArray();
  const e = expected.toArray();
  for (let i = 0; i < a.length; i++) assert.equal(a[i], e[i], `${name}[${i}]: ${a[i]} vs ${e[i]}`);
}

test('namedParameters gives Hugging Face dotted names in declaration order', () => {
  const model = new TinyGPT();
  assert.deepEqual(model.namedParameters().map(([name]) => name), tinyGptNames);
  assert.equal(model.parameters().length, tinyGptNames.length);
  assert.ok(model.parameters().every((p) => p instanceof Parameter && p.requiresGrad && p.gradFn === null));
  assert.deepEqual(model.h.at(0).attn.c_attn.weight.shape, [12, 4]); // (out, in), as PyTorch
});

test('plain tensors, configs, null and #private fields are not state', () => {
  const model = new TinyGPT();
  model.h.at(0).attn.lastScores = Tensor.zeros([2, 2], { requiresGrad: true });
  assert.deepEqual(model.namedParameters().map(([name]) => name), tinyGptNames);
  assert.equal(model.h.at(0).attn.scratchSize(), 20);
  assert.deepEqual(Object.keys(model.stateDict()), tinyGptNames);
});

test('an array of Modules is numbered like a ModuleList', () => {
  class Stack extends Module {
    readonly layers = [new Linear(2, 3), new Linear(3, 1, { bias: false })];
    readonly out = new Linear(1, 1);
  }
  const names = new Stack().namedParameters().map(([name]) => name);
  assert.deepEqual(names, ['layers.0.weight', 'layers.0.bias', 'layers.1.weight', 'out.weight', 'out.bias']);
});

test('namedModules lists the tree pre-order, the root as the empty name', () => {
  const model = new TinyGPT();
  const names = model.namedModules().map(([name]) => name);
  assert.deepEqual(names.slice(0, 13), [
    '', 'wte', 'wpe', 'h', 'h.0', 'h.0.ln_1', 'h.0.attn', 'h.0.attn.c_attn', 'h.0.attn.c_proj',
    'h.0.ln_2', 'h.0.mlp', 'h.0.mlp.c_fc', 'h.0.mlp.c_proj',
  ]);
  assert.deepEqual(names.slice(-5), ['ln_f', 'head', 'head.0', 'head.1', 'head.2']);
  assert.equal(model.getSubmodule('h.1.attn.c_attn'), model.h.at(1).attn.c_attn);
  assert.throws(() => model.getSubmodule('h.2'), (e: Error) => e instanceof QkvValueError && /no module named 'h.2'/.test(e.message));
});

test('setSubmodule replaces a child by dotted path (property, ModuleList entry, array element)', () => {
  const model = new TinyGPT();
  const replacement = new Linear(4, 12, { bias: false });
  model.setSubmodule('h.1.attn.c_attn', replacement);
  assert.equal(model.h.at(1).attn.c_attn, replacement);
  assert.ok(!model.namedParameters().some(([name]) => name === 'h.1.attn.c_attn.bias'));
  const block = new Block(new Rng(3));
  model.setSubmodule('h.0', block);
  assert.equal(model.h.at(0), block);
  class Stack extends Module {
    readonly layers = [new Linear(2, 2), new Linear(2, 2)];
  }
  const stack = new Stack();
  const last = new Linear(2, 2);
  stack.setSubmodule('layers.1', last);
  assert.equal(stack.layers[1], last);
  assert.throws(() => model.setSubmodule('h.0.nothing', block), /no module named 'h.0.nothing'/);
});

test('numParameters matches a count by hand; freezing removes parameters from the trainable count', () => {
  const model = new TinyGPT();
  // wte 10·4 + wpe 6·4 = 64
  // block: ln_1 8 + c_attn 4·12+12 = 60 + c_proj 4·4+4 = 20 + ln_2 8 + c_fc 4·16+16 = 80 + c_proj 16·4+4 = 68 → 244
  // ln_f 8; head: 4·4+4 = 20 and 4·10 = 40
  const expected = 64 + 2 * 244 + 8 + 20 + 40;
  assert.equal(model.numParameters(), expected);
  assert.equal(model.numParameters({ trainableOnly: true }), expected);

  model.h.at(0).requiresGrad_(false); // freeze one block
  assert.equal(model.numParameters(), expected);
  assert.equal(model.numParameters({ trainableOnly: true }), expected - 244);
  assert.ok(model.h.at(0).parameters().every((p) => !p.requiresGrad));

  model.requiresGrad_(false);
  assert.equal(model.numParameters({ trainableOnly: true }), 0);
  model.requiresGrad_(true);
  assert.equal(model.numParameters({ trainableOnly: true }), expected);
});

test('tied weights count once but appear under every name in the state dict', () => {
  class Tied extends Module {
    readonly wte = new Embedding(10, 4);
    readonly lm_head = new Linear(4, 10, { bias: false });
    constructor() {
      super();
      this.lm_head.weight = this.wte.weight; // GPT-2 weight tying
    }
  }
  const model = new Tied();
  assert.deepEqual(model.namedParameters().map(([name]) => name), ['wte.weight']);
  assert.equal(model.numParameters(), 40);
  assert.deepEqual(Object.keys(model.stateDict()), ['wte.weight', 'lm_head.weight']);
  model.to('float64');
  assert.equal(model.wte.weight, model.lm_head.weight, 'to() keeps tied parameters tied');
  assert.equal(model.wte.weight.dtype, 'float64');
});

test('buffers are in the state dict but not in parameters; non-persistent ones in neither', () => {
  class WithStats extends Module {
    readonly weight = new Parameter(Tensor.ones([3]));
    readonly running_mean = new Buffer(Tensor.zeros([3]));
    readonly mask = new Buffer(Tensor.ones([2, 2]), { persistent: false });
  }
  class Outer extends Module {
    readonly bn = new WithStats();
  }
  const model = new Outer();
  assert.deepEqual(model.namedParameters().map(([name]) => name), ['bn.weight']);
  assert.deepEqual(model.namedBuffers().map(([name]) => name), ['bn.running_mean', 'bn.mask']);
  assert.deepEqual(Object.keys(model.stateDict()), ['bn.weight', 'bn.running_mean']);
  assert.equal(model.numParameters(), 3);
});

test('stateDict → loadStateDict round trip copies every value, without aliasing', () => {
  const source = new TinyGPT(1);
  const target = new TinyGPT(2);
  const dict = source.stateDict();
  assert.notEqual(dict['wte.weight'].get(0, 0), target.wte.weight.get(0, 0));
  const result = target.loadStateDict(dict);
  assert.deepEqual(result, { missingKeys: [], unexpectedKeys: [] });
  const loaded = target.stateDict();
  for (const name of tinyGptNames) assertSameValues(loaded[name], dict[name], name);

  // Neither side sees later writes to the other.
  const before = dict['h.0.attn.c_attn.weight'].get(1, 2);
  target.h.at(0).attn.c_attn.weight.data[6] += 1;
  assert.equal(dict['h.0.attn.c_attn.weight'].get(1, 2), before);
  dict['wte.weight'].data[0] += 1;
  assert.notEqual(target.wte.weight.data[0], dict['wte.weight'].data[0]);
  // stateDict itself is a detached view of the live storage, as in PyTorch.
  assert.equal(dict['wte.weight'].data, source.wte.weight.data);
  assert.equal(dict['wte.weight'].requiresGrad, false);
});

test('loadStateDict accepts a Map and converts float64 values to the module dtype', () => {
  const model = new Linear(2, 2);
  const weight = Tensor.from([[1.5, 2], [3, 4]], undefined, { dtype: 'float64' });
  model.loadStateDict(new Map([['weight', weight], ['bias', Tensor.from([0.25, -1])]]));
  assert.equal(model.weight.dtype, 'float32');
  assert.deepEqual(model.weight.tolist(), [[1.5, 2], [3, 4]]);
  assert.deepEqual(model.bias?.tolist(), [0.25, -1]);
});

test('loadStateDict names missing, unexpected and wrongly shaped keys in one error, and copies nothing', () => {
  const model = new TinyGPT(0);
  const dict = new TinyGPT(1).stateDict();
  delete dict['h.0.ln_1.weight'];
  dict['foo.bar'] = Tensor.zeros([1]);
  dict['wte.weight'] = Tensor.zeros([9, 4]);
  const before = model.wpe.weight.toArray();
  assert.throws(
    () => model.loadStateDict(dict),
    (error: Error) => {
      assert.ok(error instanceof QkvStateDictError, `a QkvStateDictError, got ${error.name}`);
      assert.equal(
        error.message,
        'loadStateDict: missing keys: h.0.ln_1.weight; unexpected keys: foo.bar; shape mismatch: wte.weight expected (10,4) got (9,4)',
      );
      return true;
    },
  );
  assert.deepEqual(model.wpe.weight.toArray(), before, 'nothing is copied when the dict does not fit');
});

test('each error kind alone is reported by name', () => {
  const fresh = () => new TinyGPT(1).stateDict();
  const model = new TinyGPT(0);
  const missing = fresh();
  delete missing['head.2.weight'];
  delete missing['ln_f.bias'];
  assert.throws(() => model.loadStateDict(missing), { name: 'QkvStateDictError', message: 'loadStateDict: missing keys: ln_f.bias, head.2.weight' });
  const unexpected = { ...fresh(), 'h.2.attn.c_attn.weight': Tensor.zeros([12, 4]) };
  assert.throws(() => model.loadStateDict(unexpected), { message: 'loadStateDict: unexpected keys: h.2.attn.c_attn.weight' });
  const wrongShape = { ...fresh(), 'h.1.mlp.c_fc.bias': Tensor.zeros([15]) };
  assert.throws(() => model.loadStateDict(wrongShape), { message: 'loadStateDict: shape mismatch: h.1.mlp.c_fc.bias expected (16) got (15)' });
});

test('strict: false tolerates missing and unexpected keys (and returns them) but not wrong shapes', () => {
  const model = new TinyGPT(0);
  const source = new TinyGPT(1);
  const dict = source.stateDict();
  delete dict['ln_f.weight'];
  dict['extra.weight'] = Tensor.zeros([2]);
  const before = model.ln_f.weight.toArray();
  const result = model.loadStateDict(dict, { strict: false });
  assert.deepEqual(result, { missingKeys: ['ln_f.weight'], unexpectedKeys: ['extra.weight'] });
  assert.deepEqual(model.ln_f.weight.toArray(), before);
  assertSameValues(model.wte.weight, source.wte.weight, 'wte.weight');
  dict['wpe.weight'] = Tensor.zeros([7, 4]);
  assert.throws(() => model.loadStateDict(dict, { strict: false }), /shape mismatch: wpe.weight expected \(6,4\) got \(7,4\)/);
});

test('train() and eval() set the mode recursively', () => {
  const model = new TinyGPT();
  assert.ok(model.modules().every((m) => m.training));
  assert.equal(model.eval(), model);
  assert.ok(model.modules().every((m) => !m.training));
  model.train();
  assert.ok(model.modules().every((m) => m.training));
  model.h.at(1).eval();
  assert.equal(model.h.at(1).mlp.c_fc.training, false);
  assert.equal(model.h.at(0).mlp.c_fc.training, true);
});

test('zeroGrad clears every gradient', () => {
  const model = new TinyGPT();
  for (const p of model.parameters()) p.grad = Tensor.onesLike(p);
  model.zeroGrad();
  assert.ok(model.parameters().every((p) => p.grad === null));
});

test('apply visits every module once, children before their parent', () => {
  const model = new TinyGPT();
  const visited: Module[] = [];
  model.apply((m) => visited.push(m));
  assert.equal(visited.length, model.modules().length);
  assert.equal(visited[visited.length - 1], model);
  assert.ok(visited.indexOf(model.h.at(0).attn.c_attn) < visited.indexOf(model.h.at(0).attn));
  assert.ok(visited.indexOf(model.h.at(0)) < visited.indexOf(model.h));
});

test('to(dtype) converts parameters and buffers in place of the old ones', () => {
  class WithBuffer extends Module {
    readonly lin = new Linear(3, 2);
    readonly stats = new Buffer(Tensor.from([1, 2]), { persistent: false });
  }
  const model = new WithBuffer();
  const values = model.lin.weight.toArray();
  model.lin.requiresGrad_(false);
  model.to('float64');
  assert.equal(model.lin.weight.dtype, 'float64');
  assert.ok(model.lin.weight instanceof Parameter && !model.lin.weight.requiresGrad, 'frozen stays frozen');
  assert.deepEqual(model.lin.weight.toArray(), values);
  assert.ok(model.stats instanceof Buffer && model.stats.dtype === 'float64' && !model.stats.persistent);
});

test('toString prints the module tree with each layer\'s settings, as PyTorch does', () => {
  class Head extends Module {
    readonly scale = new Parameter(Tensor.ones([2]));
    readonly proj = new Sequential(new Linear(4, 2, { bias: false }), new Tanh());
  }
  assert.equal(
    String(new Head()),
    [
      'Head(',
      '  (scale): Parameter(2)',
      '  (proj): Sequential(',
      '    (0): Linear(in_features=4, out_features=2, bias=false)',
      '    (1): Tanh()',
      '  )',
      ')',
    ].join('\n'),
  );
  assert.equal(String(new Embedding(10, 4)), 'Embedding(10, 4)');
});

test('a back-reference to an ancestor does not loop or duplicate names', () => {
  class Child extends Module {
    readonly lin = new Linear(2, 2);
    owner: Module | null = null;
  }
  class Parent extends Module {
    readonly child = new Child();
    constructor() {
      super();
      this.child.owner = this;
    }
  }
  const model = new Parent();
  assert.deepEqual(model.namedParameters().map(([name]) => name), ['child.lin.weight', 'child.lin.bias']);
  assert.deepEqual(Object.keys(model.stateDict()), ['child.lin.weight', 'child.lin.bias']);
  assert.equal(model.modules().length, 3);
});
