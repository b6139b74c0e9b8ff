import * as React from 'react';
import { useForm } from 'react-hook-form';
import { useTranslation } from 'react-i18next';
import { Button } from '@/components/ui/button';
import { Input, Select } from '@/components/ui/input';
import { Alert } from '@/components/ui/alert';
import { Dialog, DialogContent } from '@/components/ui/dialog';
import { FormField } from '@/components/form-field';
import { ApiError } from '@/lib/errors';
import { fieldMessage } from '@/lib/forms';
import { SYSTEM_COLUMNS, useEditCanonical } from '../api';

type Row = Record<string, unknown>;

function asText(v: unknown): string {
  if (v === null || v === undefined) return '';
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

/** The changed fields only, typed like the row's values ('' clears a field). */
export function changedFields(row: Row, values: Record<string, string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, raw] of Object.entries(values)) {
    if (raw === asText(row[k])) continue;
    const before = row[k];
    if (raw.trim() === '') out[k] = null;
    else if (typeof before === 'boolean') out[k] = raw === 'true';
    else if (typeof before === 'number' && !Number.isNaN(Number(raw))) out[k] = Number(raw);
    else out[k] = raw;
  }
  return out;
}

/** A local edit of one canonical row (admins); the API's `fields.<name>` errors show in place. */
export function CanonicalEditDialog({ entity, row, onClose }: { entity: string; row: Row | null; onClose: () => void }) {
  const { t } = useTranslation();
  const edit = useEditCanonical();
  const [banner, setBanner] = React.useState<string | null>(null);
  const fields = row ? Object.keys(row).filter((k) => !SYSTEM_COLUMNS.test(k) && (typeof row[k] !== 'object' || row[k] === null)) : [];
  const form = useForm<Record<string, string>>({
    values: row ? Object.fromEntries(fields.map((k) => [k, asText(row[k])])) : {},
  });
  const errors = form.formState.errors;
  const externalId = asText(row?.external_id);

  const submit = form.handleSubmit(async (v) => {
    if (!row) return;
    setBanner(null);
    const changes = changedFields(row, v);
    if (Object.keys(changes).length === 0) {
      setBanner(fieldMessage(t, 'empty_patch'));
      return;
    }
    try {
      await edit.mutateAsync({ entity, provider: asText(row.provider), external_id: externalId, changes });
      onClose();
    } catch (e) {
      if (!(e instanceof ApiError) || Object.keys(e.fields).length === 0) {
        setBanner(e instanceof ApiError ? e.message : t('errors.network'));
        return;
      }
      const others: string[] = [];
      for (const [field, codes] of Object.entries(e.fields)) {
        const text = codes.map((c) => fieldMessage(t, c)).join(' ');
        const name = field.startsWith('fields.') ? field.slice(7) : field;
        if (fields.includes(name)) form.setError(name, { type: 'server', message: text });
        else others.push(`${name}: ${text}`);
      }
      if (others.length) setBanner(others.join(' '));
    }
  });

  return (
    <Dialog open={row !== null} onOpenChange={(open) => !open && onClose()}>
      <DialogContent title={t('sync.editRow.title', { id: externalId })} description={t('sync.editRow.hint')} className="max-w-2xl">
        <form onSubmit={submit} noValidate className="flex flex-col gap-3">
          <div aria-live="polite">{banner ? <Alert>{banner}</Alert> : null}</div>
          <div className="grid gap-3 sm:grid-cols-2">
            {fields.map((k) => (
              <FormField key={k} id={`canonical-${k}`} label={k} error={errors[k]?.message}>
                {(a) =>
                  typeof row?.[k] === 'boolean' ? (
                    <Select {...a} {...form.register(k)}>
                      <option value="true">{t('common.yes')}</option>
                      <option value="false">{t('common.no')}</option>
                    </Select>
                  ) : (
                    <Input {...a} autoComplete="off" {...form.register(k)} />
                  )
                }
              </FormField>
            ))}
          </div>
          <div className="flex justify-end gap-2">
            <Button type="button" variant="outline" onClick={onClose}>{t('common.cancel')}</Button>
            <Button type="submit" disabled={edit.isPending}>{t('common.save')}</Button>
          </div>
        </form>
      </DialogContent>
    </Dialog>
  );
}
