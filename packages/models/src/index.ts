export { createTimeLayer, timeScalar, LAYER_KINDS } from './layers.js';
export type { CreateTimeLayerOptions, LayerKind, TimeInput, ZeroInit, TimeLayer, AffineAt } from './layers.js';
export { createOdeNet, resolveOdeNetConfig, ODE_NET_DEFAULTS } from './odenet.js';
export type { OdeNet, OdeNetConfig, CreateOdeNetOptions } from './odenet.js';
export type { CnfBlock, CnfBlockConfig } from './cnf.js';
export { createFlow, resolveFlowConfig, standardNormalLogProb } from './flow.js';
export type { Flow, FlowConfig, CreateFlowOptions, FlowSolveOptions, FlowForward, FlowStats } from './flow.js';
export { saveModel, saveModelAsync, loadModel, parseModel, MODEL_FORMAT, MODEL_VERSION } from './serialize.js';
export type { ModelFile, ModelWeight } from './serialize.js';
