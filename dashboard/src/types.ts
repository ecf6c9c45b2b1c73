// The JSON the server sends: the types are those of the read-only query layer (src/api/dashboard.ts),
// imported as types only so the front end bundles none of the server's code.
export type {
  StudySummary,
  StudyDetail,
  TrialRow,
  TrialDetail,
  TrialPage,
  CompareResult,
  CurvePoint,
  DashTrialState,
  DashObjective,
  StudySeries,
  SeriesPoint,
  ParetoSeries,
  ImportanceItem,
  FinalResults,
  OneShotView,
} from '../../src/api/dashboard.js';
