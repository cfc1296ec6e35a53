import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ModuleList } from '../../src/nn/module-list.ts';
import { Module } from '../../src/nn/module.ts';
import { Linear } from '../../src/nn/linear.ts';
import { QkvValueError } from '../../src/tensor/errors.ts';

test('children are numbered 0, 1, … and nest under the owner\'s property name', () => {
  class Model extends Module {
    readonly h = new ModuleList([new Linear(2, 2), new Linear(2, 3, { bias: false })]);
  }
  const model = new Model();
  assert.deepEqual(model.namedParameters().map(([name]) => name), ['h.0.weight', 'h.0.bias', 'h.1.weight']);
  assert.deepEqual(model.h.namedParameters().map(([name]) => name), ['0.weight', '0.bias', '1.weight']);
  model.h.push(new Linear(3, 1));
  assert.deepEqual(model.namedParameters().map(([name]) => name).slice(-2), ['h.2.weight', 'h.2.bias']);
});

test('indexing, iteration and length', () => {
  const layers = [new Linear(1, 1), new Linear(1, 1), new Linear(1, 1)];
  const list = new ModuleList(layers);
  assert.equal(list.length, 3);
  assert.equal(list.at(1), layers[1]);
  assert.equal(list.at(-1), layers[2]);
  assert.deepEqual([...list], layers);
  assert.throws(() => list.at(3), (e: Error) => e instanceof QkvValueError && /index 3 is out of range for a list of 3/.test(e.message));
});

test('an empty list has no parameters; train/eval reach the items', () => {
  assert.equal(new ModuleList().numParameters(), 0);
  const list = new ModuleList([new Linear(1, 1)]);
  list.eval();
  assert.equal(list.at(0).training, false);
});
