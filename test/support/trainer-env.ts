/**
 * Where the tests find the real trainer: the repository root, the Python of the
 * project's venv (as `scripts/python-env.sh` prints it) and the sample data set.
 * Importing this module runs that script once.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';

export const REPO = path.resolve(import.meta.dirname, '../..');
export const PYTHON = execFileSync('bash', [path.join(REPO, 'scripts/python-env.sh')], { encoding: 'utf8' }).trim();
/** 40 rows in the medical-r1 format. */
export const SAMPLE_DATASET = path.join(REPO, 'python/trainops_trainer/samples/medical_sample.jsonl');
