/**
 * Errors for files qkv reads and writes. Each message starts with the file and names the
 * field or tensor at fault, then says what was expected and what was found:
 * `out/model.safetensors: tensor "wte.weight": data_offsets [0,96] hold 96 bytes, but shape (4,8) of F32 needs 128`.
 */
import { QkvError } from '../tensor/errors.ts';

/** A file whose contents break its format: bad JSON, a bad header, a missing or mistyped field. */
export class QkvFormatError extends QkvError {
  /** The file as the caller named it. */
  readonly file: string;
  /** The field or tensor at fault (`n_embd`, `tensor "wte.weight"`), when there is one. */
  readonly where: string | undefined;

  constructor(file: string, detail: string, where?: string) {
    super(`${file}: ${where === undefined ? '' : `${where}: `}${detail}`);
    this.file = file;
    this.where = where;
  }
}

/** A file that should be there and is not (`out/config.json` missing from a model folder). */
export class QkvFileNotFoundError extends QkvError {
  readonly file: string;

  constructor(file: string, detail: string) {
    super(`${file}: ${detail}`);
    this.file = file;
  }
}
