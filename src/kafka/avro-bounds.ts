/**
 * A check of an Avro body against its writer schema before avsc decodes it. avsc trusts the item
 * counts of arrays and maps: a body of a few bytes claiming 2^60 map entries makes it read entry
 * after entry past the end of the buffer (each one empty) for as long as the count says, blocking
 * the event loop, and an array claim allocates that many slots. This walk follows the schema over
 * the bytes without allocating and refuses what the bytes cannot hold: a count of items larger
 * than the bytes left, a length past the end, an unknown union branch or enum symbol. What passes
 * decodes in time proportional to its size.
 */

/** The parts of an avsc `Type` the walk reads (avsc's public properties). */
interface AvroType {
  readonly typeName: string;
  readonly fields?: readonly { readonly type: AvroType }[];
  readonly itemsType?: AvroType;
  readonly valuesType?: AvroType;
  readonly types?: readonly AvroType[];
  readonly symbols?: readonly string[];
  readonly size?: number;
  readonly underlyingType?: AvroType;
}

/** Items that take no bytes (`null`, empty records) a body may hold in all: their count costs no bytes, so it is capped. */
const MAX_EMPTY_ITEMS = 1 << 20;

/** A type this walk does not know: the body is left to avsc unchecked. */
class Unchecked extends Error {}

/** Throws an Error saying what is wrong when `body` cannot be a value of `schema`; accepts a schema that is not an avsc type. */
export function checkAvroBody(schema: unknown, body: Buffer): void {
  if (typeof (schema as Partial<AvroType> | null)?.typeName !== 'string') return;
  try {
    new Walk(body).value(schema as AvroType);
  } catch (error) {
    if (error instanceof Unchecked) return;
    throw error;
  }
}

class Walk {
  private pos = 0;
  private emptyItems = 0;
  private readonly minimum = new Map<AvroType, number>();

  constructor(private readonly buf: Buffer) {}

  value(type: AvroType): void {
    const name = type.typeName;
    switch (name) {
      case 'null':
        return;
      case 'boolean':
        return this.skip(1, name);
      case 'int':
      case 'long':
      case 'abstract:long':
        this.long();
        return;
      case 'float':
        return this.skip(4, name);
      case 'double':
        return this.skip(8, name);
      case 'string':
      case 'bytes': {
        const length = this.long();
        if (length < 0) throw new Error(`a ${name} of negative length ${length}`);
        return this.skip(length, name);
      }
      case 'fixed':
        return this.skip(type.size ?? 0, name);
      case 'enum': {
        const index = this.long();
        if (!(index >= 0 && index < (type.symbols?.length ?? 0))) throw new Error(`enum index ${index} names no symbol`);
        return;
      }
      case 'record':
      case 'error':
        for (const field of type.fields ?? []) this.value(field.type);
        return;
      case 'union:unwrapped':
      case 'union:wrapped': {
        const index = this.long();
        const branch = index >= 0 ? type.types?.[index] : undefined;
        if (branch === undefined) throw new Error(`union index ${index} names no branch`);
        return this.value(branch);
      }
      case 'array':
        return this.blocks(type.itemsType, undefined);
      case 'map':
        return this.blocks(undefined, type.valuesType);
      default:
        if (name.startsWith('logical:') && type.underlyingType !== undefined) return this.value(type.underlyingType);
        throw new Unchecked(name);
    }
  }

  /** Array items (or map entries: a string key and a value), in blocks of counted items. */
  private blocks(items: AvroType | undefined, values: AvroType | undefined): void {
    const item = items ?? values;
    if (item === undefined) throw new Unchecked('collection without an item type');
    const least = values === undefined ? this.least(item) : 1 + this.least(item);
    for (;;) {
      let count = this.long();
      if (count === 0) return;
      if (count < 0) {
        count = -count;
        this.long(); // the block's size in bytes, which the items are checked against anyway
      }
      const left = this.buf.length - this.pos;
      if (least > 0 && count > left / least) throw new Error(`a block claims ${count} items, but ${left} bytes are left`);
      if (least === 0) {
        this.emptyItems += count;
        if (this.emptyItems > MAX_EMPTY_ITEMS) throw new Error(`more than ${MAX_EMPTY_ITEMS} items that take no bytes`);
      }
      for (let i = 0; i < count; i++) {
        if (values !== undefined) this.value(STRING);
        this.value(item);
      }
    }
  }

  /** The fewest bytes a value of `type` takes (0 while a recursive type is being measured). */
  private least(type: AvroType): number {
    const known = this.minimum.get(type);
    if (known !== undefined) return known;
    this.minimum.set(type, 0);
    let n: number;
    switch (type.typeName) {
      case 'null':
        n = 0;
        break;
      case 'float':
        n = 4;
        break;
      case 'double':
        n = 8;
        break;
      case 'fixed':
        n = type.size ?? 0;
        break;
      case 'record':
      case 'error':
        n = (type.fields ?? []).reduce((sum, field) => sum + this.least(field.type), 0);
        break;
      default:
        n = type.typeName.startsWith('logical:') && type.underlyingType !== undefined ? this.least(type.underlyingType) : 1;
    }
    this.minimum.set(type, n);
    return n;
  }

  /** A zig-zag varint, as a number (precise to 2^53, which is all a bound needs). */
  private long(): number {
    let n = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      const b = this.buf[this.pos++];
      if (b === undefined) throw new Error('truncated: a number runs past the end');
      n += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) return n % 2 === 0 ? n / 2 : -(n + 1) / 2;
      scale *= 128;
    }
    throw new Error('a number longer than 10 bytes');
  }

  private skip(bytes: number, what: string): void {
    if (bytes > this.buf.length - this.pos) throw new Error(`truncated: a ${what} of ${bytes} bytes runs past the end`);
    this.pos += bytes;
  }
}

const STRING: AvroType = { typeName: 'string' };
