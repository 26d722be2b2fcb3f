import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import {
  IMAGE_FORMATS,
  UNKNOWN_FORMAT,
  formatFromFileType,
  formatFromSharp,
  hasPlausibleFtypBox,
  isImageFormat,
  loadFormatSniffer,
} from '../../src/images/sniff-format.js';

const SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"/>';

void test('file-type names map onto ours; other formats keep their own name; nothing found is unknown', () => {
  const cases: [string, string][] = [
    ['jpg', 'jpeg'],
    ['png', 'png'],
    ['apng', 'png'],
    ['webp', 'webp'],
    ['gif', 'gif'],
    ['tif', 'tiff'],
    ['avif', 'avif'],
    ['heic', 'heif'],
    ['pdf', 'pdf'],
    ['xml', 'xml'],
    ['dng', 'dng'],
  ];
  for (const [ext, ours] of cases) assert.equal(formatFromFileType({ ext, mime: 'x/y' }), ours, ext);
  assert.equal(formatFromFileType(undefined), UNKNOWN_FORMAT);
  assert.ok(!isImageFormat(UNKNOWN_FORMAT));
  assert.ok(IMAGE_FORMATS.every(isImageFormat));
});

void test("sharp's loader names: HEIF is avif or heif by its compression, every other loader keeps its name", () => {
  assert.equal(formatFromSharp('heif', 'av1'), 'avif');
  assert.equal(formatFromSharp('heif', 'hevc'), 'heif');
  assert.equal(formatFromSharp('heif'), 'heif');
  for (const format of ['jpeg', 'png', 'webp', 'gif', 'tiff']) assert.equal(formatFromSharp(format), format);
  for (const format of ['svg', 'pdf', 'magick', 'openslide', 'jp2', 'jxl', 'fits', 'vips', 'raw']) {
    assert.equal(formatFromSharp(format), format);
    assert.ok(!isImageFormat(formatFromSharp(format)), `${format} is never allowed`);
  }
});

void test('the sniffer reads formats from bytes only and refuses text that carries an ISO-BMFF brand', async () => {
  const sniff = await loadFormatSniffer();
  const image = () => sharp({ create: { width: 8, height: 8, channels: 3, background: '#336699' } });
  assert.equal(await sniff(await image().jpeg().toBuffer()), 'jpeg');
  assert.equal(await sniff(await image().tiff().toBuffer()), 'tiff');
  const avif = await image().avif().toBuffer();
  assert.ok(hasPlausibleFtypBox(avif));
  assert.equal(await sniff(avif), 'avif');
  assert.equal(await sniff(Buffer.from(SVG)), UNKNOWN_FORMAT);
  assert.equal(await sniff(Buffer.from('%PDF-1.7\n%%EOF\n')), 'pdf');
  assert.equal(await sniff(new Uint8Array(0)), UNKNOWN_FORMAT);
  const polyglot = Buffer.from(`<!--ftypavif-->${SVG}`);
  assert.ok(!hasPlausibleFtypBox(polyglot));
  assert.equal(await sniff(polyglot), UNKNOWN_FORMAT);
  // A view into a larger buffer is read from its own start.
  const padded = Buffer.concat([Buffer.from('xxxx'), avif]);
  assert.equal(await sniff(padded.subarray(4)), 'avif');
});
