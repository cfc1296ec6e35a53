/**
 * A small ONNX graph builder over `onnx-proto` (protobufjs): named values, nodes, float32 /
 * int64 initialisers, graph inputs and outputs with symbolic dimensions, and `encode()` to the
 * ModelProto bytes ONNX Runtime reads. Opset 17 (LayerNormalization's first), IR version 8.
 *
 * @example
 * const g = new OnnxGraphBuilder('tiny');
 * const x = g.input('x', 'float', ['batch', 4]);
 * const w = g.initializer('w', Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8]), [4, 2]);
 * g.output(g.node('MatMul', [x, w])[0], 'y', 'float', ['batch', 2]);
 * const bytes = g.encode();
 */
import type { onnx as OnnxTypes } from 'onnx-proto';
import onnxProto from 'onnx-proto';
import { QkvValueError } from '../tensor/errors.ts';

// onnx-proto is CommonJS (protobufjs static code): its namespace arrives on the default export
const { onnx } = onnxProto as unknown as { onnx: typeof OnnxTypes };

export const ONNX_OPSET = 17;

/** Domain of ONNX Runtime's contrib operators (MatMulNBits), opset version 1. */
export const MICROSOFT_DOMAIN = 'com.microsoft';

export type OnnxElementType = 'float' | 'int64' | 'bool' | 'uint8';
const ELEMENT_TYPE: Record<OnnxElementType, number> = {
  float: onnx.TensorProto.DataType.FLOAT,
  int64: onnx.TensorProto.DataType.INT64,
  bool: onnx.TensorProto.DataType.BOOL,
  uint8: onnx.TensorProto.DataType.UINT8,
};

/** A dimension: a number, or a name ONNX Runtime binds at run time (`batch_size`, `sequence_length`). */
export type OnnxDim = number | string;

type AttributeValue = number | number[] | string | { float: number } | { floats: number[] };

function valueInfo(name: string, type: OnnxElementType, shape: readonly OnnxDim[]): OnnxTypes.IValueInfoProto {
  return {
    name,
    type: { tensorType: { elemType: ELEMENT_TYPE[type], shape: { dim: shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } },
  };
}

function attribute(name: string, value: AttributeValue): OnnxTypes.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof value === 'number') return Number.isInteger(value) ? { name, type: T.INT, i: value } : { name, type: T.FLOAT, f: value };
  if (typeof value === 'string') return { name, type: T.STRING, s: Buffer.from(value, 'utf8') };
  if (Array.isArray(value)) return { name, type: T.INTS, ints: value };
  if ('float' in value) return { name, type: T.FLOAT, f: value.float };
  return { name, type: T.FLOATS, floats: value.floats };
}

export class OnnxGraphBuilder {
  private readonly nodes: OnnxTypes.INodeProto[] = [];
  private readonly initializers: OnnxTypes.ITensorProto[] = [];
  private readonly inputs: OnnxTypes.IValueInfoProto[] = [];
  private readonly outputs: OnnxTypes.IValueInfoProto[] = [];
  private counter = 0;
  private readonly constants = new Map<string, string>();
  private readonly domains = new Set<string>();

  constructor(readonly name: string) {}

  /** A fresh value name with a readable stem (`ln_1/out_12`). */
  fresh(stem: string): string {
    return `${stem}_${this.counter++}`;
  }

  input(name: string, type: OnnxElementType, shape: readonly OnnxDim[]): string {
    this.inputs.push(valueInfo(name, type, shape));
    return name;
  }

  /** Declares `value` a graph output named `name` (an Identity renames it). */
  output(value: string, name: string, type: OnnxElementType, shape: readonly OnnxDim[]): void {
    this.nodes.push({ opType: 'Identity', input: [value], output: [name], name: `output_${name}` });
    this.outputs.push(valueInfo(name, type, shape));
  }

  initializer(name: string, values: Float32Array | BigInt64Array | number[], dims: readonly number[], type: OnnxElementType = 'float'): string {
    const data = type === 'int64'
      ? (values instanceof BigInt64Array ? values : BigInt64Array.from(values as number[], (v) => BigInt(v)))
      : (values instanceof Float32Array ? values : Float32Array.from(values as number[]));
    const raw = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    this.initializers.push({ name, dims: [...dims], dataType: ELEMENT_TYPE[type], rawData: Uint8Array.from(raw) });
    return name;
  }

  /** A uint8 initialiser (packed quantised weights), stored as raw bytes. */
  bytesInitializer(name: string, bytes: Uint8Array, dims: readonly number[]): string {
    if (bytes.length !== dims.reduce((a, b) => a * b, 1)) throw new QkvValueError(`OnnxGraphBuilder: "${name}" has ${bytes.length} bytes for dims [${dims.join(', ')}]`);
    this.initializers.push({ name, dims: [...dims], dataType: ELEMENT_TYPE.uint8, rawData: Uint8Array.from(bytes) });
    return name;
  }

  /** A shared scalar or 1-D constant (one initialiser per distinct value). */
  constant(values: number[], type: OnnxElementType = 'float', dims: readonly number[] = [values.length]): string {
    const key = `${type}:${dims.join('x')}:${values.join(',')}`;
    let name = this.constants.get(key);
    if (name === undefined) {
      name = this.initializer(`const_${this.constants.size}`, values, dims, type);
      this.constants.set(key, name);
    }
    return name;
  }

  /** Adds one node; returns its output names (`outputs` of them). */
  node(opType: string, inputs: string[], attributes: Record<string, AttributeValue> = {}, outputs = 1, domain = ''): string[] {
    const names = Array.from({ length: outputs }, () => this.fresh(opType));
    if (domain !== '') this.domains.add(domain);
    this.nodes.push({
      opType,
      ...(domain === '' ? {} : { domain }),
      input: inputs,
      output: names,
      name: this.fresh(`${opType}_node`),
      attribute: Object.entries(attributes).map(([key, value]) => attribute(key, value)),
    });
    return names;
  }

  /** One-output node. */
  op(opType: string, inputs: string[], attributes: Record<string, AttributeValue> = {}): string {
    return this.node(opType, inputs, attributes)[0];
  }

  encode(producer = 'qkv'): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: 8,
      producerName: producer,
      opsetImport: [{ domain: '', version: ONNX_OPSET }, ...[...this.domains].map((domain) => ({ domain, version: 1 }))],
      graph: { name: this.name, node: this.nodes, initializer: this.initializers, input: this.inputs, output: this.outputs },
    });
    return onnx.ModelProto.encode(model).finish();
  }
}
