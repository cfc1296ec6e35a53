/**
 * `Module`: the base class of every layer and model, PyTorch's `nn.Module` in TypeScript.
 *
 * ## How parameters and children are found (registration by property name)
 * There is nothing to register: a module's state is read from its own enumerable properties,
 * in the order they were first defined on the instance (for class fields, declaration order):
 *
 * - a `Parameter` is a parameter named after the property (`weight`, `bias`);
 * - a `Buffer` is a buffer named after the property (`running_mean`);
 * - a `Module` is a child named after the property (`c_attn`);
 * - an array of Modules is a list of children numbered from 0 (`h.0`, `h.1`), as `ModuleList` is;
 * - anything else (numbers, configs, `null` for an absent bias, plain Tensors such as an
 *   activation kept for inspection, `#private` fields) is not state and is ignored.
 *
 * Names join with dots, so a GPT-2 written with Hugging Face's property names gets Hugging Face's
 * parameter names (`h.0.attn.c_attn.weight`) and checkpoints interchange. Name the properties
 * that way (snake_case where the reference model uses it), and declare children before they are
 * used so the order is the reference order.
 *
 * A module (or Parameter) reachable under two names — tied weights, such as GPT-2's `lm_head`
 * sharing `wte.weight` — is counted once by `parameters()`, `namedModules()` and
 * `numParameters()` (under its first name) and appears under every name in `stateDict()`, as in
 * PyTorch.
 *
 * @example
 * class MLP extends Module {
 *   readonly c_fc = new Linear(8, 32);
 *   readonly c_proj = new Linear(32, 8);
 *   forward(x: Tensor): Tensor { return this.c_proj.forward(this.c_fc.forward(x).gelu()); }
 * }
 * new MLP().namedParameters().map(([name]) => name); // ['c_fc.weight', 'c_fc.bias', 'c_proj.weight', 'c_proj.bias']
 */
import { QkvStateDictError, QkvValueError, formatShape } from '../tensor/errors.ts';
import { shapesEqual } from '../tensor/shape.ts';
import { Tensor, type DType } from '../tensor/tensor.ts';
import { stateView } from './adopt-storage.ts';
import { Buffer, Parameter } from './parameter.ts';

/** Parameter and buffer name → tensor, in module order (`wte.weight`, `h.0.ln_1.weight`, …). */
export type StateDict = Record<string, Tensor>;

export interface LoadStateDictResult {
  /** Keys the module has but the dict lacked (always empty when strict). */
  missingKeys: string[];
  /** Keys of the dict the module does not have (always empty when strict). */
  unexpectedKeys: string[];
}

function joinName(prefix: string, name: string): string {
  return prefix === '' ? name : `${prefix}.${name}`;
}

function isModuleArray(value: unknown): value is Module[] {
  return Array.isArray(value) && value.length > 0 && value.every((item) => item instanceof Module);
}

export class Module {
  /** True in training mode (Dropout drops, BatchNorm uses batch statistics); see `train()` / `eval()`. */
  training = true;

  // ---- discovery ----------------------------------------------------------------------------

  /** Own property name → value, in definition order. */
  private ownProperties(): [string, unknown][] {
    return Object.entries(this);
  }

  /** This module's own parameters (not its children's), in property order. */
  namedOwnParameters(): [string, Parameter][] {
    const out: [string, Parameter][] = [];
    for (const [key, value] of this.ownProperties()) if (value instanceof Parameter) out.push([key, value]);
    return out;
  }

  /** This module's own buffers (persistent or not), in property order. */
  namedOwnBuffers(): [string, Buffer][] {
    const out: [string, Buffer][] = [];
    for (const [key, value] of this.ownProperties()) if (value instanceof Buffer) out.push([key, value]);
    return out;
  }

  /**
   * Direct children with their names: Module properties, and arrays of Modules numbered
   * `name.0`, `name.1`, …. Containers (`ModuleList`, `Sequential`) override this.
   */
  namedChildren(): [string, Module][] {
    const out: [string, Module][] = [];
    for (const [key, value] of this.ownProperties()) {
      if (value instanceof Module) out.push([key, value]);
      else if (isModuleArray(value)) value.forEach((child, index) => out.push([`${key}.${index}`, child]));
    }
    return out;
  }

  children(): Module[] {
    return this.namedChildren().map(([, child]) => child);
  }

  /**
   * Every module of the tree, this one first (named ''), then depth-first in declaration order.
   * A module reachable twice is listed once, under its first name.
   */
  namedModules(): [string, Module][] {
    const out: [string, Module][] = [];
    this.walk('', new Set(), true, (name, module) => out.push([name, module]));
    return out;
  }

  modules(): Module[] {
    return this.namedModules().map(([, module]) => module);
  }

  /**
   * Pre-order walk. With `dedup`, a module seen before is skipped; without it (for stateDict) a
   * shared module is visited under each name, and only cycles (a child that points back to an
   * ancestor) are cut.
   */
  private walk(prefix: string, seen: Set<Module>, dedup: boolean, visit: (name: string, module: Module) => void): void {
    if (seen.has(this)) return;
    seen.add(this);
    visit(prefix, this);
    for (const [name, child] of this.namedChildren()) child.walk(joinName(prefix, name), seen, dedup, visit);
    if (!dedup) seen.delete(this); // only the ancestors stay in `seen`
  }

  /** All trainable tensors with dotted names (`h.0.attn.c_attn.weight`), each Parameter once. */
  namedParameters(): [string, Parameter][] {
    const out: [string, Parameter][] = [];
    const seen = new Set<Parameter>();
    for (const [prefix, module] of this.namedModules()) {
      for (const [key, parameter] of module.namedOwnParameters()) {
        if (seen.has(parameter)) continue;
        seen.add(parameter);
        out.push([joinName(prefix, key), parameter]);
      }
    }
    return out;
  }

  parameters(): Parameter[] {
    return this.namedParameters().map(([, parameter]) => parameter);
  }

  /** All buffers with dotted names (`bn.running_mean`), each Buffer once. */
  namedBuffers(): [string, Buffer][] {
    const out: [string, Buffer][] = [];
    const seen = new Set<Buffer>();
    for (const [prefix, module] of this.namedModules()) {
      for (const [key, buffer] of module.namedOwnBuffers()) {
        if (seen.has(buffer)) continue;
        seen.add(buffer);
        out.push([joinName(prefix, key), buffer]);
      }
    }
    return out;
  }

  buffers(): Buffer[] {
    return this.namedBuffers().map(([, buffer]) => buffer);
  }

  /**
   * The module at a dotted path (`h.0.attn`), or throws naming the path.
   * @example model.getSubmodule('h.0.attn.c_attn')
   */
  getSubmodule(path: string): Module {
    if (path === '') return this;
    for (const [name, module] of this.namedModules()) if (name === path) return module;
    throw new QkvValueError(`getSubmodule: no module named '${path}'`);
  }

  /**
   * Replaces the module at a dotted path (`h.0.attn.c_attn`), e.g. to wrap a Linear in a LoRA
   * adapter. The path must name an existing child: a Module property, an element of a Module
   * array, or an entry of a ModuleList.
   */
  setSubmodule(path: string, module: Module): void {
    const parts = path.split('.');
    const last = parts[parts.length - 1];
    // `h.0` where `h` is an array of Modules on the parent: the array element is the slot.
    if (parts.length >= 2 && /^\d+$/.test(last)) {
      const owner = this.getSubmodule(parts.slice(0, -2).join('.')) as unknown as Record<string, unknown>;
      const list = owner[parts[parts.length - 2]];
      if (isModuleArray(list) && Number(last) < list.length) {
        list[Number(last)] = module;
        return;
      }
    }
    const parent = this.getSubmodule(parts.slice(0, -1).join('.'));
    if (parent.replaceChild(last, module)) return;
    throw new QkvValueError(`setSubmodule: no module named '${path}'`);
  }

  /** Replaces the direct child called `name`; false when there is none. Containers override. */
  protected replaceChild(name: string, module: Module): boolean {
    const self = this as unknown as Record<string, unknown>;
    if (!Object.hasOwn(self, name) || !(self[name] instanceof Module)) return false;
    self[name] = module;
    return true;
  }

  // ---- modes, gradients, counting -----------------------------------------------------------

  /** Sets training mode on this module and every descendant; returns this. */
  train(mode = true): this {
    for (const module of this.modules()) module.training = mode;
    return this;
  }

  /** Evaluation mode: Dropout becomes the identity and BatchNorm uses its running statistics. */
  eval(): this {
    return this.train(false);
  }

  /** Clears the gradient of every parameter (sets `.grad` to null, as PyTorch's default does). */
  zeroGrad(): void {
    for (const parameter of this.parameters()) parameter.grad = null;
  }

  /** Freezes (`false`) or unfreezes (`true`) every parameter; returns this. */
  requiresGrad_(requiresGrad = true): this {
    for (const parameter of this.parameters()) parameter.requiresGrad = requiresGrad;
    return this;
  }

  /**
   * Number of scalar parameters, each shared Parameter counted once; with `trainableOnly`,
   * only those with `requiresGrad` (frozen ones excluded).
   */
  numParameters(options: { trainableOnly?: boolean } = {}): number {
    let count = 0;
    for (const parameter of this.parameters()) {
      if (options.trainableOnly && !parameter.requiresGrad) continue;
      count += parameter.size;
    }
    return count;
  }

  /**
   * Calls `fn` on every module, children before parents (as PyTorch's `apply`), each once;
   * returns this. The usual use is custom initialisation.
   * @example model.apply((m) => { if (m instanceof Linear) normal_(m.weight, 0, 0.02); });
   */
  apply(fn: (module: Module) => void): this {
    const seen = new Set<Module>();
    const visit = (module: Module): void => {
      if (seen.has(module)) return;
      seen.add(module);
      for (const child of module.children()) visit(child);
      fn(module);
    };
    visit(this);
    return this;
  }

  /**
   * Converts every parameter and buffer to `dtype` (new tensors replace the old ones on their
   * properties; tied ones stay tied, gradients are dropped); returns this. Build optimisers
   * after calling it, as in PyTorch.
   */
  to(dtype: DType): this {
    const converted = new Map<Tensor, Tensor>();
    for (const module of this.modules()) {
      const self = module as unknown as Record<string, unknown>;
      for (const [key, value] of Object.entries(self)) {
        if (!(value instanceof Parameter || value instanceof Buffer) || value.dtype === dtype) continue;
        let replacement = converted.get(value);
        if (replacement === undefined) {
          const values = value.detach().to(dtype);
          replacement = value instanceof Parameter
            ? new Parameter(values, { requiresGrad: value.requiresGrad })
            : new Buffer(values, { persistent: value.persistent });
          converted.set(value, replacement);
        }
        self[key] = replacement;
      }
    }
    return this;
  }

  // ---- printing -----------------------------------------------------------------------------

  /** The layer's settings for `toString()` (`in_features=4, out_features=12, bias=true`); '' by default. */
  extraRepr(): string {
    return '';
  }

  /**
   * A PyTorch-style tree of the modules, with each layer's settings:
   * `Block(\n  (ln_1): LayerNorm(4, eps=1e-05)\n  (attn): Attention(…)\n)`.
   */
  toString(): string {
    const children = this.namedChildren();
    const lines: string[] = [];
    // A leaf's parameters are implied by its settings; a composite module's own ones are listed.
    if (children.length > 0) {
      for (const [name, parameter] of this.namedOwnParameters()) lines.push(`(${name}): Parameter${formatShape(parameter.shape)}`);
    }
    for (const [name, child] of children) lines.push(`(${name}): ${child.toString().replace(/\n/g, '\n  ')}`);
    const head = `${this.constructor.name}(${this.extraRepr()}`;
    return lines.length === 0 ? `${head})` : `${head}\n  ${lines.join('\n  ')}\n)`;
  }

  // ---- state dict ---------------------------------------------------------------------------

  /** Every (name, tensor) that stateDict holds, a shared module or Parameter under each name. */
  private stateEntries(): [string, Parameter | Buffer][] {
    const out: [string, Parameter | Buffer][] = [];
    this.walk('', new Set(), false, (prefix, module) => {
      for (const [key, parameter] of module.namedOwnParameters()) out.push([joinName(prefix, key), parameter]);
      for (const [key, buffer] of module.namedOwnBuffers()) if (buffer.persistent) out.push([joinName(prefix, key), buffer]);
    });
    return out;
  }

  /**
   * Parameters and persistent buffers by dotted name, in module order. The tensors are detached
   * views of the live storage (as in PyTorch): copy them (`contiguousCopy()`) to keep a snapshot
   * that later training must not change.
   */
  stateDict(): StateDict {
    const out: StateDict = {};
    for (const [name, tensor] of this.stateEntries()) out[name] = stateView(tensor);
    return out;
  }

  /**
   * Copies values from `dict` into this module's parameters and buffers (no aliasing: later
   * changes to either side do not show in the other; values are converted to the module's dtype).
   *
   * Every problem is reported at once, by name, in one `QkvStateDictError`, before anything is
   * copied: keys the module has that the dict lacks (missing), keys of the dict the module
   * does not have (unexpected), and keys whose shapes differ. With `strict: false`, missing and
   * unexpected keys are allowed and returned; a shape mismatch is always an error.
   *
   * @example model.loadStateDict(dict); // throws e.g. "loadStateDict: missing keys: h.0.ln_1.weight; unexpected keys: foo.bar"
   */
  loadStateDict(dict: StateDict | ReadonlyMap<string, Tensor>, options: { strict?: boolean } = {}): LoadStateDictResult {
    const strict = options.strict ?? true;
    const source = dict instanceof Map ? dict : new Map(Object.entries(dict));
    const targets = this.stateEntries();
    const expected = new Set(targets.map(([name]) => name));

    const missingKeys: string[] = [];
    const mismatches: string[] = [];
    for (const [name, target] of targets) {
      const value = source.get(name);
      if (value === undefined) missingKeys.push(name);
      else if (!(value instanceof Tensor)) mismatches.push(`${name} expected a Tensor of shape ${formatShape(target.shape)} got ${typeof value}`);
      else if (!shapesEqual(value.shape, target.shape)) {
        mismatches.push(`${name} expected ${formatShape(target.shape)} got ${formatShape(value.shape)}`);
      }
    }
    const unexpectedKeys = [...source.keys()].filter((name) => !expected.has(name));

    const problems: string[] = [];
    if (strict && missingKeys.length > 0) problems.push(`missing keys: ${missingKeys.join(', ')}`);
    if (strict && unexpectedKeys.length > 0) problems.push(`unexpected keys: ${unexpectedKeys.join(', ')}`);
    if (mismatches.length > 0) problems.push(`shape mismatch: ${mismatches.join(', ')}`);
    if (problems.length > 0) throw new QkvStateDictError(`loadStateDict: ${problems.join('; ')}`);

    for (const [name, target] of targets) {
      const value = source.get(name);
      // Parameters and buffers are dense from offset 0 (see parameter.ts), so a flat set() fills
      // them in row-major order; TypedArray.set converts float64 ↔ float32.
      if (value !== undefined) target.data.set(value.contiguousData());
    }
    return { missingKeys, unexpectedKeys };
  }
}
