/**
 * The built-in datasets: where their files live, how they are checked, and how they are read.
 * Each loader returns the dataset's own train and (where it has one) test partition; splitting
 * off validation and normalising is prepare.ts's job.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { NasError, isNasError, nestError } from '../core/errors.js';
import { CIFAR10_CLASSES, readCifarBatches } from './cifar.js';
import { readCsv } from './csv.js';
import { defaultCacheDir, downloadMissing, missingFilesError, verifyChecksums, type DownloadOptions, type RemoteFile } from './download.js';
import { dataError } from './errors.js';
import { readIdxPair } from './idx.js';
import { readTar } from './tar.js';
import type { Dataset } from './types.js';

export interface TrainTest {
  readonly train: Dataset;
  /** The dataset's official test partition, if it has one. */
  readonly test?: Dataset;
}

export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';
export const FASHION_MNIST_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'] as const;

const IDX_NAMES = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const;

/** `name.gz` if present, else `name` if present, else undefined. */
function findIdx(dir: string, name: string): string | undefined {
  for (const f of [`${name}.gz`, name]) if (existsSync(join(dir, f))) return join(dir, f);
  return undefined;
}

function readIdxDir(dir: string, what: string, classNames?: readonly string[]): TrainTest | { missing: string[] } {
  const paths = Object.fromEntries(Object.entries(IDX_NAMES).map(([k, n]) => [k, findIdx(dir, n)])) as Record<keyof typeof IDX_NAMES, string | undefined>;
  const missing = Object.entries(paths)
    .filter(([, p]) => p === undefined)
    .map(([k]) => `${IDX_NAMES[k as keyof typeof IDX_NAMES]}.gz`);
  if (missing.length) return { missing };
  return {
    train: readIdxPair(paths.trainImages!, paths.trainLabels!, `${what}/train`, 10, classNames),
    test: readIdxPair(paths.testImages!, paths.testLabels!, `${what}/test`, 10, classNames),
  };
}

export interface DirOptions {
  /** Directory holding the dataset's files; overrides the default location. */
  dataDir?: string;
}

/** Fashion-MNIST from its idx files (Debian package dataset-fashion-mnist puts them in FASHION_MNIST_DIR). */
export function loadFashionMnist(opts: DirOptions = {}): TrainTest {
  const dir = resolve(opts.dataDir ?? FASHION_MNIST_DIR);
  const r = readIdxDir(dir, 'fashion_mnist', FASHION_MNIST_CLASSES);
  if ('missing' in r)
    throw new NasError('data_error', `fashion_mnist: missing in ${dir}: ${r.missing.join(', ')}`, {
      field: 'data_dir',
      details: { dir, missing: r.missing },
      hint:
        opts.dataDir === undefined
          ? 'install them with `apt-get install dataset-fashion-mnist`, or give data_dir (flag --data-dir) with the four idx-ubyte(.gz) files'
          : 'the directory must hold train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz',
    });
  return r;
}

/** Canonical MNIST files (the PyTorch-hosted mirror of Yann LeCun's originals) and their MD5 sums. */
export const MNIST_FILES: readonly RemoteFile[] = [
  { name: 'train-images-idx3-ubyte.gz', url: 'https://ossci-datasets.s3.amazonaws.com/mnist/train-images-idx3-ubyte.gz', md5: 'f68b3c2dcbeaaa9fbdd348bbdeb94873' },
  { name: 'train-labels-idx1-ubyte.gz', url: 'https://ossci-datasets.s3.amazonaws.com/mnist/train-labels-idx1-ubyte.gz', md5: 'd53e105ee54ea40749a09fcbcd1e9432' },
  { name: 't10k-images-idx3-ubyte.gz', url: 'https://ossci-datasets.s3.amazonaws.com/mnist/t10k-images-idx3-ubyte.gz', md5: '9fb629c4189551a2d022fa330f9573f3' },
  { name: 't10k-labels-idx1-ubyte.gz', url: 'https://ossci-datasets.s3.amazonaws.com/mnist/t10k-labels-idx1-ubyte.gz', md5: 'ec29112dd5afa0611ce80d1b7f02629c' },
];

export interface FetchOptions extends DirOptions, DownloadOptions {
  /** Cache root for downloads (default `$TSNAS_CACHE` or ~/.cache/tsnas). */
  cacheDir?: string;
  /**
   * Download missing files (default false: tsnas downloads nothing on its own; the files must be
   * in `dataDir` or the cache, and the error says which files, from where, and what is offline).
   */
  download?: boolean;
}

/**
 * What can be trained on without any download, for errors about a dataset that is not here:
 * Fashion-MNIST (Debian's dataset-fashion-mnist, with whether it is installed), the digits shipped
 * in the repository, and the user's own CSV.
 */
export function offlineDatasets(): string {
  const installed = Object.values(IDX_NAMES).every((n) => findIdx(FASHION_MNIST_DIR, n) !== undefined);
  return (
    'Offline datasets: fashion_mnist (' +
    (!installed ? `not installed: apt-get install dataset-fashion-mnist puts it in ${FASHION_MNIST_DIR}` : `installed in ${FASHION_MNIST_DIR}`) +
    `), digits (shipped in ${defaultDigitsPath()}), csv (your own file: --dataset csv --path FILE --label COLUMN).`
  );
}

/**
 * The files of MNIST in `<cacheDir>/mnist` or CIFAR-10 in `<cacheDir>/cifar10` are all there; else
 * the data_error loadMnist/loadCifar10 would give without downloading (for checking a config up
 * front, before a study is created).
 */
export function checkCachedDataset(kind: 'mnist' | 'cifar10', cacheDir = defaultCacheDir()): void {
  if (kind === 'mnist') {
    const dir = join(cacheDir, 'mnist');
    const missing = MNIST_FILES.filter((f) => findIdx(dir, f.name.replace(/\.gz$/, '')) === undefined);
    if (missing.length) throw mnistMissing(missing, dir);
  } else {
    const dir = join(cacheDir, 'cifar10');
    if (!cifarBatchDir(dir) && !existsSync(join(dir, CIFAR10_ARCHIVE.name))) throw cifarMissing(dir);
  }
}

function mnistMissing(missing: readonly RemoteFile[], dir: string): NasError {
  return missingFilesError(
    'mnist',
    missing,
    dir,
    'tsnas downloads nothing',
    offlineDatasets(),
  );
}

function cifarMissing(dir: string): NasError {
  return missingFilesError(
    'cifar10',
    [CIFAR10_ARCHIVE],
    dir,
    'tsnas downloads nothing',
    `(or extract the archive yourself so that ${join(dir, CIFAR_SUBDIR, 'data_batch_1.bin')} exists, or pass --data-dir DIR with the extracted batches)\n${offlineDatasets()}`,
  );
}

/**
 * MNIST from `dataDir` (files must be there), or else from `<cacheDir>/mnist`; with `download:
 * true` the missing files are downloaded there first (MD5-verified), otherwise their absence is a
 * data_error naming the files, where to put them and the offline datasets.
 */
export async function loadMnist(opts: FetchOptions = {}): Promise<TrainTest> {
  if (opts.dataDir !== undefined) {
    const dir = resolve(opts.dataDir);
    const r = readIdxDir(dir, 'mnist');
    if ('missing' in r) throw missingFilesError('mnist', MNIST_FILES.filter((f) => r.missing.includes(f.name)), dir, 'dataDir was given, so nothing is downloaded');
    return r;
  }
  const dir = join(opts.cacheDir ?? defaultCacheDir(), 'mnist');
  const first = readIdxDir(dir, 'mnist');
  if (!('missing' in first)) return first;
  const missing = MNIST_FILES.filter((f) => first.missing.includes(f.name));
  if (opts.download !== true) throw mnistMissing(missing, dir);
  await downloadMissing('mnist', missing, dir, opts);
  const r = readIdxDir(dir, 'mnist');
  if ('missing' in r) throw missingFilesError('mnist', MNIST_FILES.filter((f) => r.missing.includes(f.name)), dir, 'they are still missing after the download');
  return r;
}

export const CIFAR10_ARCHIVE: RemoteFile = {
  name: 'cifar-10-binary.tar.gz',
  url: 'https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz',
  md5: 'c32a1d4ab5d03f1284b67883e8d87530',
  sha256: 'c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd',
  bytes: 170052171,
};
const CIFAR_TRAIN = [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`);
const CIFAR_TEST = 'test_batch.bin';
const CIFAR_SUBDIR = 'cifar-10-batches-bin';

/** The directory holding the .bin batches: `dir` itself or its `cifar-10-batches-bin/`. */
function cifarBatchDir(dir: string): string | undefined {
  for (const d of [dir, join(dir, CIFAR_SUBDIR)]) if ([...CIFAR_TRAIN, CIFAR_TEST].every((f) => existsSync(join(d, f)))) return d;
  return undefined;
}

function readCifarDir(d: string): TrainTest {
  return {
    train: readCifarBatches(CIFAR_TRAIN.map((f) => join(d, f)), 'cifar10/train'),
    test: readCifarBatches([join(d, CIFAR_TEST)], 'cifar10/test'),
  };
}

/** Verifies the archive and extracts the six batch files into `<dir>/cifar-10-batches-bin/`. */
export function extractCifarArchive(archive: string, dir: string): void {
  const gz = readFileSync(archive);
  verifyChecksums(new Uint8Array(gz.buffer, gz.byteOffset, gz.byteLength), CIFAR10_ARCHIVE, archive);
  let tarBytes: Buffer;
  try {
    tarBytes = gunzipSync(gz);
  } catch (e) {
    throw dataError(archive, `corrupt gzip stream (${(e as Error).message})`, { cause: e });
  }
  const members = readTar(new Uint8Array(tarBytes.buffer, tarBytes.byteOffset, tarBytes.byteLength), archive);
  const out = join(dir, CIFAR_SUBDIR);
  mkdirSync(out, { recursive: true });
  for (const want of [...CIFAR_TRAIN, CIFAR_TEST]) {
    const m = members.find((x) => x.name.endsWith(`/${want}`) || x.name === want);
    if (!m) throw dataError(archive, `archive has no member ${want}`);
    writeFileSync(join(out, want), m.data);
  }
}

/**
 * CIFAR-10 (binary version) from `dataDir` (the .bin batches there or in its cifar-10-batches-bin/),
 * or else from `<cacheDir>/cifar10`, downloading and extracting the verified archive there first.
 */
export async function loadCifar10(opts: FetchOptions = {}): Promise<TrainTest> {
  const need = `${CIFAR_SUBDIR}/{${CIFAR_TRAIN.join(',')},${CIFAR_TEST}}`;
  if (opts.dataDir !== undefined) {
    const dir = resolve(opts.dataDir);
    const d = cifarBatchDir(dir);
    if (!d)
      throw new NasError('data_error', `cifar10: ${dir} does not hold the CIFAR-10 binary batches (${need})`, {
        field: 'data_dir',
        details: { dir },
        hint: `extract ${CIFAR10_ARCHIVE.url} (md5 ${CIFAR10_ARCHIVE.md5}) into ${dir}`,
      });
    return readCifarDir(d);
  }
  const dir = join(opts.cacheDir ?? defaultCacheDir(), 'cifar10');
  let d = cifarBatchDir(dir);
  if (d) return readCifarDir(d);
  const archive = join(dir, CIFAR10_ARCHIVE.name);
  const extraHint = `(or extract the archive yourself so that ${join(dir, CIFAR_SUBDIR, 'data_batch_1.bin')} exists)`;
  if (!existsSync(archive)) {
    if (opts.download !== true) throw cifarMissing(dir);
    await downloadMissing('cifar10', [CIFAR10_ARCHIVE], dir, opts).catch((e: unknown) => {
      throw isNasError(e) ? nestError(e, undefined, { extra: extraHint, code: 'data_error' }) : e;
    });
  }
  extractCifarArchive(archive, dir);
  d = cifarBatchDir(dir);
  if (!d) throw new NasError('internal', `cifar10: extraction into ${dir} did not produce the batches`);
  return readCifarDir(d);
}

/** The digits data shipped in the repository: `<repo>/data/digits/digits.csv.gz` (source: data/README.md). */
export function defaultDigitsPath(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  // src/data (or dist/data) -> repo root -> data/
  return resolve(here, '..', '..', 'data', 'digits', 'digits.csv.gz');
}

/**
 * 1,797 8x8 handwritten digits (pixel values 0-16) as `[1, 8, 8]` float images; no official test
 * split. The CSV reader's notes (`line 1 read as data (header: false)`) are dropped: they are
 * about a file format the user did not choose (new user 10b, finding 7: every command printed it).
 */
export function loadDigits(path = defaultDigitsPath()): TrainTest {
  const { notes: _csvNotes, ...d } = readCsv(path, { header: false, label: -1, numClasses: 10, shape: [1, 8, 8], name: 'digits' });
  return { train: d };
}
