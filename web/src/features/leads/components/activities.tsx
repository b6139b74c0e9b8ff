import * as React from 'react';
import { useTranslation } from 'react-i18next';
import { useForm } from 'react-hook-form';
import { zodResolver } from '@hookform/resolvers/zod';
import { z } from 'zod';
import { Button } from '@/components/ui/button';
import { Input, Select, Textarea } from '@/components/ui/input';
import { Alert } from '@/components/ui/alert';
import { Badge } from '@/components/ui/badge';
import { Card, CardContent, CardHeader, CardTitle } from '@/components/ui/card';
import { FormField } from '@/components/form-field';
import { ErrorMessage, Loading } from '@/components/page';
import { applyApiErrors } from '@/lib/forms';
import { day } from '@/lib/format';
import { useCreateActivity, useLeadActivities } from '../api';
import { ACTIVITY_TYPES, type Activity, type CreateActivityBody } from '../types';

const TIME = /^([01][0-9]|2[0-3]):[0-5][0-9]$/;

const schema = z
  .object({
    type: z.enum(ACTIVITY_TYPES),
    subject: z.string().trim().min(1, 'required').max(255, 'too_long'),
    due_date: z.string(),
    due_time: z.string().refine((v) => v === '' || TIME.test(v), 'invalid_time'),
    done: z.boolean(),
    note: z.string().max(10_000, 'too_long'),
  })
  .refine((v) => v.due_time === '' || v.due_date !== '', { path: ['due_date'], message: 'required_with_due_time' });
type Values = z.infer<typeof schema>;
const FIELDS = ['type', 'subject', 'due_date', 'due_time', 'done', 'note'] as const;
const EMPTY: Omit<Values, 'type'> = { subject: '', due_date: '', due_time: '', done: false, note: '' };

function ActivityItem({ a }: { a: Activity }) {
  const { t } = useTranslation();
  const due = a.due_date ? `${day(a.due_date)}${a.due_time ? ` · ${a.due_time} UTC` : ''}` : null;
  return (
    <li className="rounded-md border border-slate-200 p-2 text-sm" data-testid="activity">
      <div className="flex flex-wrap items-center gap-2">
        <Badge variant="blue">{t(`leads.activities.types.${a.type}`, { defaultValue: a.type })}</Badge>
        <span className="font-medium">{a.subject}</span>
        <Badge variant={a.done ? 'green' : 'default'}>{a.done ? t('leads.activities.done') : t('leads.activities.todo')}</Badge>
        {a.provider === 'tentabo' ? (
          <Badge variant="amber" title={t('leads.activities.pendingHint')}>
            {t('leads.activities.pending')}
          </Badge>
        ) : null}
      </div>
      <p className="mt-1 text-xs text-slate-700">
        {due ? t('leads.activities.dueOn', { when: due }) : t('leads.activities.noDue')}
      </p>
      {a.note ? <p className="mt-1 whitespace-pre-wrap">{a.note}</p> : null}
    </li>
  );
}

/**
 * A lead's activities (calls, meetings, tasks… of its CRM deal too) and, for who may
 * move the lead, the form adding one; it is pushed to the CRM in the background.
 */
export function Activities({
  leadId,
  initial,
  canAdd,
}: {
  leadId: string;
  initial?: { items: Activity[]; at: number };
  canAdd: boolean;
}) {
  const { t } = useTranslation();
  const list = useLeadActivities(leadId, initial);
  const create = useCreateActivity(leadId);
  const [failure, setFailure] = React.useState<unknown>(null);
  const [others, setOthers] = React.useState<string[]>([]);
  const [added, setAdded] = React.useState(false);
  const form = useForm<Values>({ resolver: zodResolver(schema), defaultValues: { type: 'call', ...EMPTY } });
  const { errors, isSubmitting } = form.formState;

  const err = (n: keyof Values) => {
    const e = errors[n];
    if (!e?.message) return undefined;
    return e.type === 'server' ? e.message : t(`fieldErrors.${e.message}`);
  };

  const onSubmit = form.handleSubmit(async (v) => {
    setFailure(null);
    setOthers([]);
    setAdded(false);
    const body: CreateActivityBody = {
      type: v.type,
      subject: v.subject.trim(),
      done: v.done,
      ...(v.due_date ? { due_date: v.due_date } : {}),
      ...(v.due_time ? { due_time: v.due_time } : {}),
      ...(v.note.trim() ? { note: v.note } : {}),
    };
    try {
      await create.mutateAsync(body);
      form.reset({ type: v.type, ...EMPTY });
      setAdded(true);
    } catch (e) {
      const r = applyApiErrors(t, e, form.setError, FIELDS);
      if (r.handled) setOthers(r.others);
      else setFailure(e);
    }
  });

  const items = list.data?.items ?? [];
  return (
    <Card>
      <CardHeader>
        <CardTitle id="lead-activities-title">{t('leads.activities.title')}</CardTitle>
      </CardHeader>
      <CardContent className="flex flex-col gap-3">
        {list.isPending ? <Loading /> : null}
        <ErrorMessage error={list.error} />
        {list.data && items.length === 0 ? <p className="text-sm text-slate-700">{t('leads.activities.empty')}</p> : null}
        {items.length > 0 ? (
          <ul className="flex flex-col gap-2" aria-labelledby="lead-activities-title">
            {items.map((a) => (
              <ActivityItem key={a.id} a={a} />
            ))}
          </ul>
        ) : null}
        {canAdd ? (
          <form onSubmit={onSubmit} noValidate className="flex flex-col gap-2 border-t border-slate-200 pt-3" aria-label={t('leads.activities.add')}>
            <div aria-live="polite">
              {added ? <Alert variant="success">{t('leads.activities.added')}</Alert> : null}
            </div>
            <ErrorMessage error={failure} />
            {others.length ? <Alert>{others.join(' ')}</Alert> : null}
            <div className="grid gap-3 sm:grid-cols-2">
              <FormField id="activity-type" label={t('leads.activities.fields.type')} error={err('type')}>
                {(a) => (
                  <Select {...a} {...form.register('type')}>
                    {ACTIVITY_TYPES.map((k) => (
                      <option key={k} value={k}>
                        {t(`leads.activities.types.${k}`)}
                      </option>
                    ))}
                  </Select>
                )}
              </FormField>
              <FormField id="activity-subject" label={t('leads.activities.fields.subject')} error={err('subject')}>
                {(a) => <Input maxLength={255} {...a} {...form.register('subject')} />}
              </FormField>
              <FormField id="activity-due_date" label={t('leads.activities.fields.due_date')} error={err('due_date')}>
                {(a) => <Input type="date" {...a} {...form.register('due_date')} />}
              </FormField>
              <FormField
                id="activity-due_time"
                label={t('leads.activities.fields.due_time')}
                hint={t('leads.activities.dueTimeHint')}
                error={err('due_time')}
              >
                {(a) => <Input type="time" {...a} {...form.register('due_time')} />}
              </FormField>
            </div>
            <FormField id="activity-note" label={t('leads.activities.fields.note')} error={err('note')}>
              {(a) => <Textarea rows={2} {...a} {...form.register('note')} />}
            </FormField>
            <div className="flex items-center gap-2">
              <input
                id="activity-done"
                type="checkbox"
                className="h-4 w-4 rounded border-slate-300 focus-visible:ring-2 focus-visible:ring-blue-600"
                aria-invalid={Boolean(err('done'))}
                aria-describedby={err('done') ? 'activity-done-error' : undefined}
                {...form.register('done')}
              />
              <label htmlFor="activity-done" className="text-sm font-medium text-slate-800">
                {t('leads.activities.fields.done')}
              </label>
              {err('done') ? (
                <p id="activity-done-error" className="text-xs font-medium text-red-700" data-field-error>
                  {err('done')}
                </p>
              ) : null}
            </div>
            <div>
              <Button type="submit" size="sm" disabled={isSubmitting}>
                {t('leads.activities.add')}
              </Button>
            </div>
          </form>
        ) : null}
      </CardContent>
    </Card>
  );
}
