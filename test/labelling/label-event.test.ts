/**
 * Label events are untrusted: ids and labels must be short printable text, origins and selections
 * known names, times times; Label Studio annotations need one choice, and a typed new class name
 * replaces "other / new class".
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CentaurError } from '../../src/core/errors.js';
import { labelFromLabelStudio, labelFromRecord } from '../../src/labelling/label-event.js';
import type { LabelStudioTaskRecord } from '../../src/labelling/label-studio-client.js';

const refused = (fn: () => unknown, reason: RegExp): void => {
  assert.throws(fn, (e: unknown) => e instanceof CentaurError && e.code === 'LABEL_INVALID' && reason.test(e.message));
};

test('a label record becomes an annotation; origin defaults to kafka and time to the message time', () => {
  const event = labelFromRecord({ inputId: ' cam-1/7 ', label: 'horse', annotator: 'ann', labelTime: 1234, selection: 'exploration' }, 99);
  assert.deepEqual(event, { inputId: 'cam-1/7', annotation: { label: 'horse', annotator: 'ann', origin: 'kafka', labelTime: 1234, selection: 'exploration' } });
  assert.equal(labelFromRecord({ inputId: 'x', label: 'dog', labelTime: '2026-12-07T10:00:00Z', origin: 'ground-truth' }, 0).annotation.labelTime, Date.parse('2026-12-07T10:00:00Z'));
  assert.equal(labelFromRecord({ inputId: 'x', label: 'dog', selection: null }, 5).annotation.labelTime, 5);
});

test('malformed label records are refused with the reason', () => {
  refused(() => labelFromRecord({ label: 'horse' }, 0), /`inputId` is missing/);
  refused(() => labelFromRecord({ inputId: 'x', label: '  ' }, 0), /`label` is empty/);
  refused(() => labelFromRecord({ inputId: 'x', label: 'a'.repeat(300) }, 0), /longer than 256/);
  refused(() => labelFromRecord({ inputId: 'x', label: 'horse\u0000' }, 0), /control/);
  refused(() => labelFromRecord({ inputId: 'x', label: 'cat\u200b' }, 0), /zero-width/);
  refused(() => labelFromRecord({ inputId: 'x', label: 'horse', annotator: 'label-studio:1' }, 0), /Label Studio user/);
  refused(() => labelFromRecord({ inputId: 'x', label: 'horse', labelTime: Date.now() + 3 * 86_400_000 }, 0), /future/);
  refused(() => labelFromRecord({ inputId: 'x', label: 7 }, 0), /not text/);
  refused(() => labelFromRecord({ inputId: 'x', label: 'horse', origin: 'oracle' }, 0), /`origin`/);
  refused(() => labelFromRecord({ inputId: 'x', label: 'horse', selection: 'luck' }, 0), /`selection`/);
  refused(() => labelFromRecord({ inputId: 'x', label: 'horse', labelTime: 'yesterday' }, 0), /not a time/);
});

const task = (result: unknown[], data: Record<string, unknown> = { inputId: 'in-1', strategy: 'uncertainty' }): LabelStudioTaskRecord => ({
  id: 5,
  updatedAt: '2026-12-07T12:00:00.123456Z',
  data,
  annotations: [{ id: 9, completedBy: 3, updatedAt: '2026-12-07T12:00:00.100000Z', wasCancelled: false, result: result as never }],
});
const choice = (c: string) => ({ from_name: 'label', to_name: 'image', type: 'choices', value: { choices: [c] } });

test('a Label Studio annotation: its choice, the typed new class, the annotator and the selection from the task', () => {
  const t1 = task([choice('human')]);
  assert.deepEqual(labelFromLabelStudio(t1, t1.annotations[0]!), {
    inputId: 'in-1',
    annotation: { label: 'human', annotator: 'label-studio:3', origin: 'label-studio', labelTime: Date.parse('2026-12-07T12:00:00.100Z'), selection: 'uncertainty' },
  });
  const t2 = task([choice('other / new class'), { from_name: 'newClass', type: 'textarea', value: { text: ['dog'] } }]);
  assert.equal(labelFromLabelStudio(t2, t2.annotations[0]!).annotation.label, 'dog');
  const t3 = task([choice('other / new class')]);
  assert.equal(labelFromLabelStudio(t3, t3.annotations[0]!).annotation.label, 'other / new class', 'unnamed: kept as the new-class choice');
  const t4 = task([]);
  refused(() => labelFromLabelStudio(t4, t4.annotations[0]!), /no single choice/);
  const t5 = task([choice('horse')], {});
  refused(() => labelFromLabelStudio(t5, t5.annotations[0]!), /inputId/);
});
