/**
 * `ModuleList`: an indexed list of child modules, named `0`, `1`, … under the list's own name
 * (so a GPT's `h = new ModuleList(blocks)` gives `h.0.attn.c_attn.weight`). A plain array of
 * Modules on a module property is named the same way; use ModuleList when the list itself must
 * be a Module (to call `train()` or `parameters()` on it, or to nest it in a Sequential).
 */
import { QkvValueError } from '../tensor/errors.ts';
import { Module } from './module.ts';

export class ModuleList<M extends Module = Module> extends Module implements Iterable<M> {
  // #private: kept out of the property discovery; namedChildren() lists the items instead.
  readonly #items: M[];

  constructor(modules: Iterable<M> = []) {
    super();
    this.#items = [...modules];
  }

  get length(): number {
    return this.#items.length;
  }

  /** The module at `index` (negative counts from the end); throws when out of range. */
  at(index: number): M {
    const item = this.#items.at(index);
    if (item === undefined) throw new QkvValueError(`ModuleList: index ${index} is out of range for a list of ${this.length}`);
    return item;
  }

  /** Appends modules; returns this. */
  push(...modules: M[]): this {
    this.#items.push(...modules);
    return this;
  }

  [Symbol.iterator](): Iterator<M> {
    return this.#items[Symbol.iterator]();
  }

  override namedChildren(): [string, Module][] {
    return this.#items.map((module, index) => [String(index), module]);
  }

  protected override replaceChild(name: string, module: Module): boolean {
    if (!/^\d+$/.test(name) || Number(name) >= this.#items.length) return false;
    this.#items[Number(name)] = module as M;
    return true;
  }
}
