/** @module db/parquet-splice
 * Joins two Parquet files of the same rows column by column without decoding a page: the features
 * file of a full ingest (features/prepare) is the prices file's columns plus the features', and
 * encoding the ten price columns a second time was most of what preparing the features cost.
 * Parquet keeps each row group's column chunks as independent byte ranges located by absolute
 * offsets in the footer (Apache Parquet's parquet.thrift, FileMetaData), so the joined file is
 * "PAR1", the left file's body, the right file's body, and a footer built from both: the left
 * file's first `leftColumns` columns and every column of the right one, row group by row group, the
 * right file's offsets moved by where its body now starts. Row groups must hold the same rows (the
 * same counts; the caller wrote both from the same rows in the same chunks); anything unexpected
 * (another layout, nested columns, encryption, a thrift type this reader does not know) returns
 * null and the caller encodes the file whole instead. The footer is Thrift's compact protocol,
 * read into a generic tree that keeps every field's type and order, so what is not changed is
 * written back byte for byte. No Node library writes Parquet footers this way. Pure but for I/O. */
import { appendFile, copyFile, open, readFile, rm, truncate } from 'node:fs/promises';

const MAGIC = Buffer.from('PAR1', 'latin1');

// Thrift compact protocol types.
const T_STOP = 0;
const T_TRUE = 1;
const T_FALSE = 2;
const T_BYTE = 3;
const T_I16 = 4;
const T_I32 = 5;
const T_I64 = 6;
const T_DOUBLE = 7;
const T_BINARY = 8;
const T_LIST = 9;
const T_SET = 10;
const T_MAP = 11;
const T_STRUCT = 12;

/** A decoded value: its compact type and its value (integers as bigint, so 64 bits stay exact). */
type TValue =
  | { t: typeof T_TRUE | typeof T_FALSE; v: boolean }
  | { t: typeof T_BYTE | typeof T_I16 | typeof T_I32 | typeof T_I64; v: bigint }
  | { t: typeof T_DOUBLE; v: Buffer }
  | { t: typeof T_BINARY; v: Buffer }
  | { t: typeof T_LIST | typeof T_SET; elem: number; v: TValue[] }
  | { t: typeof T_MAP; key: number; val: number; v: [TValue, TValue][] }
  | { t: typeof T_STRUCT; v: TStruct };
/** A struct's fields in the order they were read. */
type TStruct = [number, TValue][];

class SpliceError extends Error {}

class Reader {
  pos = 0;
  constructor(private readonly b: Buffer) {}
  byte(): number {
    if (this.pos >= this.b.length) throw new SpliceError('footer ends early');
    return this.b[this.pos++]!;
  }
  varint(): bigint {
    let shift = 0n;
    let out = 0n;
    for (;;) {
      const x = this.byte();
      out |= BigInt(x & 0x7f) << shift;
      if ((x & 0x80) === 0) return out;
      shift += 7n;
      if (shift > 70n) throw new SpliceError('varint too long');
    }
  }
  zigzag(): bigint {
    const u = this.varint();
    return (u >> 1n) ^ -(u & 1n);
  }
  bytes(n: number): Buffer {
    if (this.pos + n > this.b.length) throw new SpliceError('footer ends early');
    const out = this.b.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  value(t: number, inCollection = false): TValue {
    switch (t) {
      case T_TRUE:
      case T_FALSE:
        // In a struct the type carries the value; in a collection each element is a byte (1 = true).
        if (inCollection) {
          const x = this.byte();
          return { t: x === 1 ? T_TRUE : T_FALSE, v: x === 1 };
        }
        return { t, v: t === T_TRUE };
      case T_BYTE:
        return { t, v: BigInt(this.byte()) };
      case T_I16:
      case T_I32:
      case T_I64:
        return { t, v: this.zigzag() };
      case T_DOUBLE:
        return { t, v: this.bytes(8) };
      case T_BINARY:
        return { t, v: this.bytes(Number(this.varint())) };
      case T_LIST:
      case T_SET: {
        const h = this.byte();
        const size = h >> 4 === 15 ? Number(this.varint()) : h >> 4;
        const elem = h & 0x0f;
        const v: TValue[] = [];
        for (let i = 0; i < size; i++) v.push(this.value(elem, true));
        return { t, elem, v };
      }
      case T_MAP: {
        const size = Number(this.varint());
        if (size === 0) return { t, key: 0, val: 0, v: [] };
        const kv = this.byte();
        const v: [TValue, TValue][] = [];
        for (let i = 0; i < size; i++) v.push([this.value(kv >> 4, true), this.value(kv & 0x0f, true)]);
        return { t, key: kv >> 4, val: kv & 0x0f, v };
      }
      case T_STRUCT:
        return { t, v: this.struct() };
      default:
        throw new SpliceError(`unknown thrift type ${t}`);
    }
  }
  struct(): TStruct {
    const out: TStruct = [];
    let last = 0;
    for (;;) {
      const h = this.byte();
      if (h === T_STOP) return out;
      const delta = h >> 4;
      const id = delta === 0 ? Number(this.zigzag()) : last + delta;
      out.push([id, this.value(h & 0x0f)]);
      last = id;
    }
  }
}

class Writer {
  private readonly parts: number[] = [];
  private readonly chunks: Buffer[] = [];
  byte(x: number): void {
    this.parts.push(x & 0xff);
  }
  private flush(): void {
    if (this.parts.length > 0) this.chunks.push(Buffer.from(this.parts.splice(0)));
  }
  raw(b: Buffer): void {
    this.flush();
    this.chunks.push(b);
  }
  varint(x: bigint): void {
    let u = x;
    do {
      const low = Number(u & 0x7fn);
      u >>= 7n;
      this.byte(u > 0n ? low | 0x80 : low);
    } while (u > 0n);
  }
  zigzag(x: bigint): void {
    this.varint(x >= 0n ? x << 1n : ((-x) << 1n) - 1n);
  }
  value(x: TValue, inCollection = false): void {
    switch (x.t) {
      case T_TRUE:
      case T_FALSE:
        if (inCollection) this.byte(x.v ? 1 : 2);
        return;
      case T_BYTE:
        this.byte(Number(x.v));
        return;
      case T_I16:
      case T_I32:
      case T_I64:
        this.zigzag(x.v);
        return;
      case T_DOUBLE:
        this.raw(x.v);
        return;
      case T_BINARY:
        this.varint(BigInt(x.v.length));
        this.raw(x.v);
        return;
      case T_LIST:
      case T_SET:
        if (x.v.length < 15) this.byte((x.v.length << 4) | x.elem);
        else {
          this.byte(0xf0 | x.elem);
          this.varint(BigInt(x.v.length));
        }
        for (const e of x.v) this.value(e, true);
        return;
      case T_MAP:
        this.varint(BigInt(x.v.length));
        if (x.v.length > 0) this.byte((x.key << 4) | x.val);
        for (const [k, v] of x.v) {
          this.value(k, true);
          this.value(v, true);
        }
        return;
      case T_STRUCT:
        this.struct(x.v);
        return;
    }
  }
  struct(s: TStruct): void {
    let last = 0;
    for (const [id, x] of s) {
      const delta = id - last;
      if (delta > 0 && delta <= 15) this.byte((delta << 4) | x.t);
      else {
        this.byte(x.t);
        this.zigzag(BigInt(id));
      }
      this.value(x);
      last = id;
    }
    this.byte(T_STOP);
  }
  done(): Buffer {
    this.flush();
    return Buffer.concat(this.chunks);
  }
}

const field = (s: TStruct, id: number): TValue | undefined => s.find(([f]) => f === id)?.[1];
function set(s: TStruct, id: number, v: TValue): void {
  const i = s.findIndex(([f]) => f === id);
  if (i >= 0) s[i] = [id, v];
  else {
    s.push([id, v]);
    s.sort((a, b) => a[0] - b[0]);
  }
}
function int(s: TStruct, id: number): bigint | undefined {
  const x = field(s, id);
  if (x === undefined) return undefined;
  if (x.t !== T_I16 && x.t !== T_I32 && x.t !== T_I64 && x.t !== T_BYTE) throw new SpliceError(`field ${id} is not an integer`);
  return x.v;
}
function list(s: TStruct, id: number): TValue[] {
  const x = field(s, id);
  if (x === undefined || (x.t !== T_LIST && x.t !== T_SET)) throw new SpliceError(`field ${id} is not a list`);
  return x.v;
}
const structs = (xs: TValue[]): TStruct[] =>
  xs.map((x) => {
    if (x.t !== T_STRUCT) throw new SpliceError('a list element is not a struct');
    return x.v;
  });

/** A file's footer, decoded, and where its body ends (the body itself is not read). */
async function footerOf(path: string): Promise<{ bodyEnd: number; meta: TStruct }> {
  const fh = await open(path, 'r');
  try {
    const size = (await fh.stat()).size;
    const head = Buffer.alloc(4);
    const tail = Buffer.alloc(8);
    if (size < 12) throw new SpliceError(`${path} is not a Parquet file`);
    await fh.read(head, 0, 4, 0);
    await fh.read(tail, 0, 8, size - 8);
    if (!head.equals(MAGIC) || !tail.subarray(4).equals(MAGIC)) throw new SpliceError(`${path} is not a Parquet file`);
    const len = tail.readUInt32LE(0);
    const bodyEnd = size - 8 - len;
    if (bodyEnd < 4) throw new SpliceError(`${path}: footer length ${len} is too large`);
    const footer = Buffer.alloc(len);
    await fh.read(footer, 0, len, bodyEnd);
    const r = new Reader(footer);
    const meta = r.struct();
    if (r.pos !== len) throw new SpliceError(`${path}: footer has ${len - r.pos} bytes after its end`);
    // FileMetaData 8/9: an encrypted footer's algorithm and key: not this writer's files.
    if (field(meta, 8) !== undefined || field(meta, 9) !== undefined) throw new SpliceError(`${path} is encrypted`);
    return { bodyEnd, meta };
  } finally {
    await fh.close();
  }
}

/** The leaf columns of a flat schema (root, then one element per column), refusing nested ones. */
function leaves(meta: TStruct, path: string): { root: TStruct; cols: TValue[] } {
  const schema = list(meta, 2);
  const root = schema[0];
  if (root === undefined || root.t !== T_STRUCT) throw new SpliceError(`${path}: no schema`);
  const n = Number(int(root.v, 5) ?? -1n); // SchemaElement 5: num_children
  const cols = schema.slice(1);
  if (n !== cols.length || structs(cols).some((c) => int(c, 5) !== undefined)) throw new SpliceError(`${path}: not a flat schema`);
  return { root: root.v, cols };
}

/** Adds `delta` to every absolute offset of a column chunk (ColumnChunk and its ColumnMetaData). */
function moveChunk(chunk: TStruct, delta: bigint): TStruct {
  const c: TStruct = chunk.map(([id, v]) => [id, v]);
  if (field(c, 1) !== undefined) throw new SpliceError('a column chunk in another file (file_path)');
  const shift = (s: TStruct, id: number, keepZero: boolean): void => {
    const x = field(s, id);
    if (x === undefined) return;
    if (x.t !== T_I64) throw new SpliceError(`offset field ${id} is not an i64`);
    if (keepZero && x.v === 0n) return;
    set(s, id, { t: T_I64, v: x.v + delta });
  };
  // ColumnChunk 2: file_offset (deprecated; DuckDB writes 0), 4: offset_index_offset, 6: column_index_offset.
  shift(c, 2, true);
  shift(c, 4, false);
  shift(c, 6, false);
  const md = field(c, 3);
  if (md === undefined || md.t !== T_STRUCT) throw new SpliceError('a column chunk without its metadata');
  const m: TStruct = md.v.map(([id, v]) => [id, v]);
  // ColumnMetaData 9: data_page_offset, 10: index_page_offset, 11: dictionary_page_offset, 14: bloom_filter_offset.
  for (const id of [9, 10, 11, 14]) shift(m, id, false);
  set(c, 3, { t: T_STRUCT, v: m });
  return c;
}

/** Byte totals of a column chunk: (compressed, uncompressed). */
function chunkSizes(chunk: TStruct): [bigint, bigint] {
  const md = field(chunk, 3)!;
  if (md.t !== T_STRUCT) throw new SpliceError('a column chunk without its metadata');
  return [int(md.v, 7) ?? 0n, int(md.v, 6) ?? 0n]; // 7: total_compressed_size, 6: total_uncompressed_size
}

/**
 * Writes `target` = the first `leftColumns` columns of `left` followed by every column of `right`,
 * with `right`'s key-value metadata, when both hold the same row groups (row counts); false, having
 * written nothing, when they do not or a file is not what this expects (the caller then encodes it).
 */
export async function spliceParquet(left: string, right: string, leftColumns: number, target: string): Promise<boolean> {
  try {
    const a = await footerOf(left);
    const b = await footerOf(right);
    const la = leaves(a.meta, left);
    const lb = leaves(b.meta, right);
    if (leftColumns < 1 || leftColumns > la.cols.length) throw new SpliceError(`${left} has ${la.cols.length} columns`);
    const rgA = structs(list(a.meta, 4));
    const rgB = structs(list(b.meta, 4));
    if (rgA.length !== rgB.length || int(a.meta, 3) !== int(b.meta, 3)) throw new SpliceError('the files hold other rows');
    const delta = BigInt(a.bodyEnd - 4);
    const groups: TValue[] = rgA.map((ga, i) => {
      const gb = rgB[i]!;
      if (int(ga, 3) !== int(gb, 3)) throw new SpliceError(`row group ${i} holds ${int(ga, 3)} rows in one file, ${int(gb, 3)} in the other`);
      const ca = structs(list(ga, 1));
      const cb = structs(list(gb, 1)).map((c) => moveChunk(c, delta));
      if (ca.length !== la.cols.length || cb.length !== lb.cols.length) throw new SpliceError(`row group ${i} does not have a chunk per column`);
      const cols = [...ca.slice(0, leftColumns), ...cb];
      const g: TStruct = ga.map(([id, v]) => [id, v]);
      set(g, 1, { t: T_LIST, elem: T_STRUCT, v: cols.map((c) => ({ t: T_STRUCT, v: c })) });
      let compressed = 0n;
      let uncompressed = 0n;
      for (const c of cols) {
        const [cz, uz] = chunkSizes(c);
        compressed += cz;
        uncompressed += uz;
      }
      set(g, 2, { t: T_I64, v: uncompressed }); // total_byte_size
      if (field(g, 6) !== undefined) set(g, 6, { t: T_I64, v: compressed }); // total_compressed_size
      // RowGroup 5: file_offset: the first chunk's first page, still the left file's.
      return { t: T_STRUCT, v: g };
    });
    const meta: TStruct = a.meta.map(([id, v]) => [id, v]);
    const root: TStruct = la.root.map(([id, v]) => [id, v]);
    set(root, 5, { t: T_I32, v: BigInt(leftColumns + lb.cols.length) });
    set(meta, 2, { t: T_LIST, elem: T_STRUCT, v: [{ t: T_STRUCT, v: root }, ...la.cols.slice(0, leftColumns), ...lb.cols] });
    set(meta, 4, { t: T_LIST, elem: T_STRUCT, v: groups });
    // FileMetaData 5: key_value_metadata, the right file's (what the joined file is).
    const kv = field(b.meta, 5);
    const at = meta.findIndex(([id]) => id === 5);
    if (kv !== undefined) set(meta, 5, kv);
    else if (at >= 0) meta.splice(at, 1);
    // FileMetaData 7: column_orders, one per leaf column when present.
    const oa = field(a.meta, 7);
    const ob = field(b.meta, 7);
    if (oa !== undefined || ob !== undefined) {
      if (oa === undefined || ob === undefined || (oa.t !== T_LIST && oa.t !== T_SET) || (ob.t !== T_LIST && ob.t !== T_SET)) throw new SpliceError('column orders in one file only');
      set(meta, 7, { t: T_LIST, elem: T_STRUCT, v: [...oa.v.slice(0, leftColumns), ...ob.v] });
    }
    const w = new Writer();
    w.struct(meta);
    const footer = w.done();
    const len = Buffer.alloc(4);
    len.writeUInt32LE(footer.length);
    // The left file's head and body copied by the kernel (copy_file_range: no pass through this
    // process), cut at its footer; then the right file's body and the new footer.
    const rightBytes = await readFile(right);
    await copyFile(left, target);
    try {
      await truncate(target, a.bodyEnd);
      await appendFile(target, Buffer.concat([rightBytes.subarray(4, b.bodyEnd), footer, len, MAGIC]));
    } catch (err) {
      await rm(target, { force: true });
      throw err;
    }
    return true;
  } catch (err) {
    if (err instanceof SpliceError) return false;
    throw err;
  }
}

/** Reads a Parquet footer and writes it back (tests: the compact protocol round trip is byte for byte). */
export async function footerRoundTrip(path: string): Promise<{ same: boolean }> {
  const f = await footerOf(path);
  const w = new Writer();
  w.struct(f.meta);
  const bytes = await readFile(path);
  return { same: w.done().equals(bytes.subarray(f.bodyEnd, bytes.length - 8)) };
}
