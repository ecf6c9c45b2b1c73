/**
 * Branded ids: a StudyId cannot be passed where a TrialId is expected, although both are strings
 * or numbers at run time. Construct them only through these functions.
 */
declare const brand: unique symbol;
export type Brand<T, B extends string> = T & { readonly [brand]: B };

export type StudyId = Brand<number, 'StudyId'>;
export type TrialId = Brand<number, 'TrialId'>;
export type WorkerId = Brand<string, 'WorkerId'>;
/** Canonical architecture key: equal keys mean the same function (see src/space). */
export type ArchKey = Brand<string, 'ArchKey'>;

export const studyId = (n: number): StudyId => n as StudyId;
export const trialId = (n: number): TrialId => n as TrialId;
export const workerId = (s: string): WorkerId => s as WorkerId;
export const archKey = (s: string): ArchKey => s as ArchKey;
