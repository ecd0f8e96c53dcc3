// JSON lines for a FileSource: one JSON value per line, blank lines skipped. A line that does not
// parse (or that `deserialize` throws on) is bad input named by `<path>:<line>`.

import { ConfigurationError } from '../../../shared/errors.ts';
import { checkKnownFields } from '../common/connector-options.ts';
import type { FileFormat, FileReaderSettings, FileRecordReader } from './file-format.ts';
import { messageOf } from './file-format.ts';
import type { FilePositionBase, FileSplitPosition, TextFilePosition } from './file-splits.ts';
import type { OpenedFile } from './source-file-system.ts';
import { parseTextPosition, textStartPosition, TextRecordReader, type TextRecordDecoder, type TextRecordOrigin } from './text-record-reader.ts';

export interface JsonLinesInputFormatOptions<T> {
  /** Turns a line (without its line end) into a record; throwing makes the line bad input. Default JSON.parse. */
  readonly deserialize?: (line: string, origin: TextRecordOrigin) => T;
}

const OPTION_FIELDS = new Set(['deserialize']);

export class JsonLinesInputFormat<T = unknown> implements FileFormat<T> {
  readonly description = 'JSON lines';
  private readonly decoder: TextRecordDecoder<T>;

  constructor(options: JsonLinesInputFormatOptions<T> = {}) {
    checkKnownFields(options, OPTION_FIELDS, 'JsonLinesInputFormat');
    const { deserialize } = options;
    if (deserialize !== undefined && typeof deserialize !== 'function') {
      throw new ConfigurationError('deserialize', `must be a function (line, origin) => record, got ${typeof deserialize}`);
    }
    this.decoder = {
      quote: undefined,
      hasHeader: false,
      header: () => {},
      decode:
        deserialize === undefined
          ? (line) => {
              try {
                return JSON.parse(line) as T;
              } catch (error) {
                throw new Error(`invalid JSON: ${messageOf(error)}`);
              }
            }
          : (line, origin) => {
              try {
                return deserialize(line, origin);
              } catch (error) {
                throw new Error(`deserialize threw: ${messageOf(error)}`);
              }
            },
    };
  }

  startPosition(fileSize: number): TextFilePosition {
    return textStartPosition(fileSize);
  }

  parsePosition(label: string, id: string, base: FilePositionBase & Record<string, unknown>): TextFilePosition {
    return parseTextPosition(label, id, base);
  }

  createReader(file: OpenedFile, position: FileSplitPosition, settings: FileReaderSettings): FileRecordReader<T> {
    return new TextRecordReader(file, position as TextFilePosition, this.decoder, settings);
  }
}
