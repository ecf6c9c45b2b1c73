/**
 * tsnas's programmatic API (`import { ... } from 'tsnas'`). The CLI calls only what is exported
 * here.
 */
export { NasError, isNasError, isInputError, ERROR_CODES, STORAGE_INPUT_REASONS, type ErrorCode, type StorageReason } from '../core/errors.js';
export type { Json, JsonObject } from '../core/json.js';
export type { Evaluator, EvalOutcome, EvalRequest, Metrics, Objective, Constraint, Progress } from '../eval/types.js';
export type { StudyRecord, StudySummary, TrialRecord, TrialCounts, TrialState } from '../store/types.js';
export { TRIAL_STATES, LEASE_EXPIRIES_ATTR, leaseExpiriesOf, type LeaseExpiry } from '../store/types.js';
export { DATASET_KINDS } from '../data/prepare.js';
export { Study, rerunLine, leaseRetriesExhausted, DEFAULT_MAX_LEASE_RETRIES, type StudyEvent, type OptimizeResult, type AskOutcome } from '../run/study.js';
export { SPACE_NAMES } from '../space/registry.js';
export { STRATEGY_NAMES } from '../strategy/registry.js';
export {
  validateConfig,
  readConfigFile,
  configFromFlags,
  resolveStorage,
  DEFAULT_STORAGE,
  CONFIG_FIELDS,
  type StudyConfig,
} from './config.js';
export { evaluatorNames, buildParts, type StudyParts } from './parts.js';
export {
  prepareSearch,
  createStudy,
  loadStudy,
  search,
  runWorker,
  SETUP_SAID_ENV,
  defaultWorkerEntry,
  type PreparedSearch,
  type PrepareInput,
  type StudyHandle,
  type SearchOptions,
  type SearchResult,
  type SearchProgress,
  type WorkerOptions,
} from './study.js';
export {
  listStudies,
  studyStatus,
  studyProxyTime,
  type StudyProxyTime,
  studyTrials,
  bestTrial,
  requireBestTrial,
  noFeasibleTrialError,
  studyInfeasibility,
  constraintRule,
  trialsToCsv,
  trialsToJson,
  trialForOutput,
  trialNumbersById,
  metricColumns,
  exportWinner,
  writeFileAtomic,
  type ExportResult,
} from './results.js';
export { studyPareto, type StudyPareto } from './results.js';
export { paretoSet, referencePoint, referenceValues, hypervolumeOf, refPointText, parseRefPoint, type Hypervolume, type ParetoSet, type RefSource } from './pareto.js';
export { readArchPath, archOfStudy, type ArchFile, type StudyArchSource } from './arch-source.js';
export { train, trainRepeated, readArchFile, type TrainInput, type TrainSummary, type RepeatedTrain, type SeedTrain } from './train.js';
export { repeatSearch, prepareRepeat, seedList, seedStudyName, statsOf, summarizeRuns, type Stat, type RepeatInput, type RepeatOptions, type RepeatResult, type SeedStudy, type SeedBest } from './repeat.js';
export { runMain, runMainSeeds, lenetCosts, pickWinner, mainStudyName, MAIN_DEFAULTS, MAIN_RECIPE, type MainOptions, type MainResult, type MainRow, type MainSeedsResult, type MainModel } from './main-job.js';
export { lenet } from '../nn/build/lenet.js';
export { mainSpace, mainBaselineArch, MAIN_SPACE_NAME } from './main-space.js';
export {
  oneShotSearch,
  prepareOneShot,
  oneShotMethodOf,
  formatDerived,
  alphaRecord,
  ONESHOT_METHODS,
  ONESHOT_FORMAT,
  ALPHA_FORMAT,
  type PreparedOneShot,
  type OneShotEvent,
  type OneShotSearchOptions,
  type OneShotSearchResult,
} from './oneshot.js';
export { compressModel, compressNetwork, checkPruneSpec, quantizedEngines, type CompressSource, type CompressModelOptions, type CompressOptions, type CompressResult, type StageRow, type StageName, type PruneSpec, type QuantMode } from './compress.js';
export { finetuneModel, type FinetuneModelOptions, type FinetuneResult, type FinetuneMetrics, type FreezeSpec } from './finetune.js';
export { loadModel, type ModelSource, type LoadedModel } from './model-source.js';
export { writeStudyReport, type StudyReportOptions, type StudyReport } from '../report/index.js';
export { upgradeDatabase, type DbUpgrade } from './db.js';
export { ensembleOfStudy, topTrials, type EnsembleOfStudyOptions, type StudyEnsembleResult } from './ensemble.js';
