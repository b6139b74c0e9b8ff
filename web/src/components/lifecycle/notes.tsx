import * as React from 'react';
import { useTranslation } from 'react-i18next';
import { useForm } from 'react-hook-form';
import { zodResolver } from '@hookform/resolvers/zod';
import { z } from 'zod';
import { Button } from '@/components/ui/button';
import { Select, Textarea } from '@/components/ui/input';
import { Badge } from '@/components/ui/badge';
import { Card, CardContent, CardHeader, CardTitle } from '@/components/ui/card';
import { FormField } from '@/components/form-field';
import { ErrorMessage, Loading } from '@/components/page';
import { applyApiErrors } from '@/lib/forms';
import { dateTime } from '@/lib/format';
import { useCreateNote, useNotes, type Kind } from './api';

const schema = z.object({
  visibility: z.enum(['internal', 'partner_visible']),
  body: z.string().trim().min(1, 'required').max(10_000, 'too_long'),
});
type Values = z.infer<typeof schema>;

/** Notes of a lead, order or contract; staff may write internal ones. */
export function Notes({ kind, id, staff }: { kind: Kind; id: string; staff: boolean }) {
  const { t } = useTranslation();
  const notes = useNotes(kind, id);
  const create = useCreateNote(kind, id);
  const [failure, setFailure] = React.useState<unknown>(null);
  const form = useForm<Values>({
    resolver: zodResolver(schema),
    defaultValues: { visibility: staff ? 'internal' : 'partner_visible', body: '' },
  });
  const err = (n: keyof Values) => {
    const e = form.formState.errors[n];
    if (!e?.message) return undefined;
    return e.type === 'server' ? e.message : t(`fieldErrors.${e.message}`);
  };
  const onSubmit = form.handleSubmit(async (v) => {
    setFailure(null);
    try {
      await create.mutateAsync(v);
      form.reset({ visibility: v.visibility, body: '' });
    } catch (e) {
      if (!applyApiErrors(t, e, form.setError, ['visibility', 'body']).handled) setFailure(e);
    }
  });
  return (
    <Card>
      <CardHeader>
        <CardTitle>{t('notes.title')}</CardTitle>
      </CardHeader>
      <CardContent className="flex flex-col gap-3">
        {notes.isPending ? <Loading /> : null}
        <ErrorMessage error={notes.error} />
        {notes.data && notes.data.items.length === 0 ? (
          <p className="text-sm text-slate-700">{t('notes.empty')}</p>
        ) : null}
        <ul className="flex flex-col gap-2">
          {notes.data?.items.map((n) => (
            <li key={n.id} className="rounded-md border border-slate-200 p-2">
              <div className="mb-1 flex items-center gap-2 text-xs text-slate-700">
                <Badge variant={n.visibility === 'internal' ? 'amber' : 'blue'}>
                  {t(`notes.visibility.${n.visibility}`)}
                </Badge>
                <span>{dateTime(n.created_at)}</span>
              </div>
              <p className="whitespace-pre-wrap text-sm">{n.body}</p>
            </li>
          ))}
        </ul>
        <form onSubmit={onSubmit} noValidate className="flex flex-col gap-2" aria-label={t('notes.add')}>
          <ErrorMessage error={failure} />
          <FormField id={`${kind}-note-visibility`} label={t('notes.visibilityLabel')} error={err('visibility')}>
            {(a) => (
              <Select {...a} {...form.register('visibility')}>
                {staff ? <option value="internal">{t('notes.visibility.internal')}</option> : null}
                <option value="partner_visible">{t('notes.visibility.partner_visible')}</option>
              </Select>
            )}
          </FormField>
          <FormField id={`${kind}-note-body`} label={t('notes.body')} error={err('body')}>
            {(a) => <Textarea rows={3} {...a} {...form.register('body')} />}
          </FormField>
          <div>
            <Button type="submit" size="sm" disabled={form.formState.isSubmitting}>
              {t('notes.add')}
            </Button>
          </div>
        </form>
      </CardContent>
    </Card>
  );
}
