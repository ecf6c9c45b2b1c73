/**
 * A minimal protocol-buffers encoder for the subset of onnx.proto (ONNX IR version 7) that an
 * inference graph needs. Messages are plain data; `encodeModel` writes the wire format. Field
 * numbers are those of onnx/onnx.proto and are cited beside each field. Only encoding: tsnas never
 * reads ONNX files (the tests load them in onnxruntime, an independent implementation).
 *
 * Wire format: each field is a varint key (field_number << 3 | wire_type) followed by its value;
 * wire type 0 = varint (int32/int64/enum, negative numbers as 10-byte two's complement), 2 =
 * length-delimited (strings, bytes, sub-messages, packed repeated scalars), 5 = fixed32 (float).
 */

/** TensorProto.DataType values used here (onnx.proto enum TensorProto.DataType). */
export const DATA_TYPE = { float: 1, uint8: 2, int8: 3, int32: 6, int64: 7 } as const;
export type OnnxDataType = keyof typeof DATA_TYPE;

/** An attribute value, tagged by kind (AttributeProto.AttributeType: FLOAT=1, INT=2, STRING=3, FLOATS=6, INTS=7). */
export type AttrValue =
  | { readonly kind: 'float'; readonly value: number }
  | { readonly kind: 'int'; readonly value: number }
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'floats'; readonly value: readonly number[] }
  | { readonly kind: 'ints'; readonly value: readonly number[] };

export const attr = {
  float: (value: number): AttrValue => ({ kind: 'float', value }),
  int: (value: number): AttrValue => ({ kind: 'int', value }),
  string: (value: string): AttrValue => ({ kind: 'string', value }),
  floats: (value: readonly number[]): AttrValue => ({ kind: 'floats', value }),
  ints: (value: readonly number[]): AttrValue => ({ kind: 'ints', value }),
};

export interface NodeDef {
  readonly opType: string;
  readonly name: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attributes?: Readonly<Record<string, AttrValue>>;
}

export interface TensorDef {
  readonly name: string;
  readonly dataType: OnnxDataType;
  readonly dims: readonly number[];
  /** Row-major elements, stored as raw_data (little-endian); uint8/int8/int32 for quantized (QDQ) models. */
  readonly data: Float32Array | BigInt64Array | Uint8Array | Int8Array | Int32Array;
}

/** A graph input or output: float32 tensor with a shape whose entries are sizes or symbolic names. */
export interface ValueInfoDef {
  readonly name: string;
  readonly dataType: OnnxDataType;
  readonly shape: readonly (number | string)[];
}

export interface GraphDef {
  readonly name: string;
  readonly nodes: readonly NodeDef[];
  readonly initializers: readonly TensorDef[];
  readonly inputs: readonly ValueInfoDef[];
  readonly outputs: readonly ValueInfoDef[];
  readonly docString?: string;
}

export interface ModelDef {
  readonly irVersion: number;
  readonly opsetVersion: number;
  readonly producerName: string;
  readonly producerVersion: string;
  readonly graph: GraphDef;
  readonly docString?: string;
  readonly metadata?: Readonly<Record<string, string>>;
}

/** Appends protobuf fields to a growing byte buffer. */
export class ProtoWriter {
  private buf = new Uint8Array(256);
  private len = 0;

  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }
  private byte(b: number): void {
    this.ensure(1);
    this.buf[this.len++] = b;
  }
  private bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }
  /** Unsigned LEB128 of the 64-bit two's complement of `v` (so -1 takes 10 bytes, as protobuf int64). */
  varint(v: number | bigint): void {
    let u = BigInt.asUintN(64, BigInt(v));
    while (u >= 0x80n) {
      this.byte(Number(u & 0x7fn) | 0x80);
      u >>= 7n;
    }
    this.byte(Number(u));
  }
  private key(field: number, wireType: 0 | 2 | 5): void {
    this.varint((field << 3) | wireType);
  }
  int(field: number, v: number | bigint): void {
    this.key(field, 0);
    this.varint(v);
  }
  float(field: number, v: number): void {
    this.key(field, 5);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    this.bytes(b);
  }
  lengthDelimited(field: number, b: Uint8Array): void {
    this.key(field, 2);
    this.varint(b.length);
    this.bytes(b);
  }
  string(field: number, s: string): void {
    this.lengthDelimited(field, new TextEncoder().encode(s));
  }
  message(field: number, write: (w: ProtoWriter) => void): void {
    const w = new ProtoWriter();
    write(w);
    this.lengthDelimited(field, w.finish());
  }
  packedInts(field: number, vs: readonly number[]): void {
    const w = new ProtoWriter();
    for (const v of vs) w.varint(v);
    this.lengthDelimited(field, w.finish());
  }
  packedFloats(field: number, vs: readonly number[]): void {
    const b = new Uint8Array(4 * vs.length);
    const dv = new DataView(b.buffer);
    vs.forEach((v, i) => dv.setFloat32(4 * i, v, true));
    this.lengthDelimited(field, b);
  }
  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

/** Little-endian bytes of a tensor's elements (TensorProto.raw_data must be little-endian). */
function rawBytes(data: TensorDef['data']): Uint8Array {
  const out = new Uint8Array(data.length * data.BYTES_PER_ELEMENT);
  const dv = new DataView(out.buffer);
  if (data instanceof Float32Array) data.forEach((v, i) => dv.setFloat32(4 * i, v, true));
  else if (data instanceof BigInt64Array) data.forEach((v, i) => dv.setBigInt64(8 * i, v, true));
  else if (data instanceof Int32Array) data.forEach((v, i) => dv.setInt32(4 * i, v, true));
  else out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  return out;
}

function writeAttribute(w: ProtoWriter, name: string, a: AttrValue): void {
  w.string(1, name); // AttributeProto.name = 1
  switch (a.kind) {
    case 'float':
      w.float(2, a.value); // f = 2
      w.int(20, 1); // type = 20: FLOAT
      break;
    case 'int':
      w.int(3, a.value); // i = 3
      w.int(20, 2); // INT
      break;
    case 'string':
      w.string(4, a.value); // s = 4
      w.int(20, 3); // STRING
      break;
    case 'floats':
      w.packedFloats(7, a.value); // floats = 7
      w.int(20, 6); // FLOATS
      break;
    case 'ints':
      w.packedInts(8, a.value); // ints = 8
      w.int(20, 7); // INTS
      break;
  }
}

function writeNode(w: ProtoWriter, n: NodeDef): void {
  for (const i of n.inputs) w.string(1, i); // NodeProto.input = 1
  for (const o of n.outputs) w.string(2, o); // output = 2
  w.string(3, n.name); // name = 3
  w.string(4, n.opType); // op_type = 4
  for (const [k, a] of Object.entries(n.attributes ?? {})) w.message(5, (aw) => writeAttribute(aw, k, a)); // attribute = 5
}

function writeTensor(w: ProtoWriter, t: TensorDef): void {
  w.packedInts(1, t.dims); // TensorProto.dims = 1
  w.int(2, DATA_TYPE[t.dataType]); // data_type = 2
  w.string(8, t.name); // name = 8
  w.lengthDelimited(9, rawBytes(t.data)); // raw_data = 9
}

function writeValueInfo(w: ProtoWriter, v: ValueInfoDef): void {
  w.string(1, v.name); // ValueInfoProto.name = 1
  w.message(2, (tw) => // type = 2 (TypeProto)
    tw.message(1, (tt) => { // TypeProto.tensor_type = 1
      tt.int(1, DATA_TYPE[v.dataType]); // TypeProto.Tensor.elem_type = 1
      tt.message(2, (sw) => { // TypeProto.Tensor.shape = 2 (TensorShapeProto)
        for (const d of v.shape)
          sw.message(1, (dw) => (typeof d === 'number' ? dw.int(1, d) : dw.string(2, d))); // dim = 1; dim_value = 1, dim_param = 2
      });
    }),
  );
}

function writeGraph(w: ProtoWriter, g: GraphDef): void {
  for (const n of g.nodes) w.message(1, (nw) => writeNode(nw, n)); // GraphProto.node = 1
  w.string(2, g.name); // name = 2
  for (const t of g.initializers) w.message(5, (tw) => writeTensor(tw, t)); // initializer = 5
  if (g.docString) w.string(10, g.docString); // doc_string = 10
  for (const v of g.inputs) w.message(11, (vw) => writeValueInfo(vw, v)); // input = 11
  for (const v of g.outputs) w.message(12, (vw) => writeValueInfo(vw, v)); // output = 12
}

/** Serializes a ModelProto. */
export function encodeModel(m: ModelDef): Uint8Array {
  const w = new ProtoWriter();
  w.int(1, m.irVersion); // ModelProto.ir_version = 1
  w.string(2, m.producerName); // producer_name = 2
  w.string(3, m.producerVersion); // producer_version = 3
  if (m.docString) w.string(6, m.docString); // doc_string = 6
  w.message(7, (gw) => writeGraph(gw, m.graph)); // graph = 7
  w.message(8, (ow) => { // opset_import = 8 (OperatorSetIdProto)
    ow.string(1, ''); // domain = 1: the default ai.onnx domain
    ow.int(2, m.opsetVersion); // version = 2
  });
  for (const [k, v] of Object.entries(m.metadata ?? {}))
    w.message(14, (ew) => { // metadata_props = 14 (StringStringEntryProto)
      ew.string(1, k); // key = 1
      ew.string(2, v); // value = 2
    });
  return w.finish();
}
