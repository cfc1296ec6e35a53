/**
 * ServedModel and FairQueue on their own: OpenAI's presence/frequency penalties against a
 * greedy loop written out here (full recompute, no cache, the formula by hand), the context
 * checks, the queue's round-robin order and its abort.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { argmax } from '../../src/generate/sampler.ts';
import { ServedModel } from '../../src/serve/engine.ts';
import { FairQueue, QueueAbortedError } from '../../src/serve/queue.ts';
import { noGrad } from '../../src/tensor/autograd.ts';
import { Tensor } from '../../src/tensor/tensor.ts';
import { trainTinyModel } from './fixtures.ts';

const tiny = trainTinyModel(20);
const served = new ServedModel({ id: 'tiny', model: tiny.model, tokenizer: tiny.tokenizer });

/** Greedy decoding with logit[j] −= count[j]·frequency + (count[j] > 0)·presence, recomputing the whole sequence each step. */
function greedyByHand(promptIds: number[], steps: number, frequency: number, presence: number): number[] {
  const ids = [...promptIds];
  const counts = new Map<number, number>();
  for (let s = 0; s < steps; s++) {
    const logits = noGrad(() => tiny.model.forward(Tensor.from(ids, [1, ids.length])).logits); // (1, T, V)
    const last = Array.from({ length: tiny.model.vocabSize }, (_, v) => logits.get(0, ids.length - 1, v) - (counts.get(v) ?? 0) * frequency - ((counts.get(v) ?? 0) > 0 ? presence : 0));
    const next = argmax(last);
    ids.push(next);
    counts.set(next, (counts.get(next) ?? 0) + 1);
  }
  return ids.slice(promptIds.length);
}

async function greedyServed(promptIds: number[], maxTokens: number, frequencyPenalty: number, presencePenalty: number): Promise<number[]> {
  const out: number[] = [];
  for await (const piece of served.generate({ promptIds, maxTokens, temperature: 0, frequencyPenalty, presencePenalty })) out.push(piece.tokenId);
  return out;
}

test('presence and frequency penalties follow OpenAI\'s formula (checked against a greedy loop by hand)', async () => {
  const prompt = served.encode('User: hi\nAssistant:');
  for (const [frequency, presence] of [[0, 0], [1.5, 0], [0, 2], [0.7, 0.5], [-1, 0]]) {
    assert.deepEqual(await greedyServed(prompt, 15, frequency, presence), greedyByHand(prompt, 15, frequency, presence), `frequency ${frequency}, presence ${presence}`);
  }
  // and they matter: a strong frequency penalty changes the greedy text of this model
  assert.notDeepEqual(greedyByHand(prompt, 15, 2, 0), greedyByHand(prompt, 15, 0, 0));
});

test('checkContext: the prompt must leave room, and prompt + max_tokens must fit the context', () => {
  assert.equal(served.checkContext(10, undefined, 'prompt'), 86);
  assert.equal(served.checkContext(10, 86, 'prompt'), 86);
  assert.throws(() => served.checkContext(10, 87, 'prompt'), /maximum context length is 96 tokens; you requested 97/);
  assert.throws(() => served.checkContext(96, 1, 'messages'), /the messages is 96 tokens, leaving none/);
});

test('FairQueue: turns go round-robin in arrival order; an aborted waiter leaves the line', async () => {
  const queue = new FairQueue();
  const order: string[] = [];
  const worker = async (name: string, steps: number) => {
    for (let s = 0; s < steps; s++) await queue.run(() => order.push(`${name}${s}`));
  };
  await Promise.all([worker('a', 3), worker('b', 3), worker('c', 2)]);
  assert.deepEqual(order, ['a0', 'b0', 'c0', 'a1', 'b1', 'c1', 'a2', 'b2']);

  const controller = new AbortController();
  let release!: () => void;
  const holder = queue.run(() => new Promise<void>((resolve) => (release = resolve)));
  await new Promise((resolve) => setImmediate(resolve)); // every turn starts on setImmediate
  assert.equal(queue.waiting, 0);
  const waiter = queue.run(() => 'never', controller.signal);
  const third = queue.run(() => 'third');
  assert.equal(queue.waiting, 2);
  controller.abort();
  await assert.rejects(waiter, QueueAbortedError);
  assert.equal(queue.waiting, 1);
  release();
  await holder;
  assert.equal(await third, 'third');
});
