/** ONNX export of tsnas modules (see export.ts). */
export { exportOnnx, ONNX_IR_VERSION, ONNX_OPSET, type ExportOnnxOptions } from './export.js';
export { exporter, type ExporterEntry, type OnnxContext, type OnnxExporter, type OnnxValue } from './types.js';
export { attr, encodeModel, type AttrValue, type ModelDef } from './proto.js';
