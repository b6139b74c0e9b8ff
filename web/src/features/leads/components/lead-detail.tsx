import * as React from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { useTranslation } from 'react-i18next';
import { useQueryClient } from '@tanstack/react-query';
import { Button, buttonVariants } from '@/components/ui/button';
import { Alert } from '@/components/ui/alert';
import { Badge } from '@/components/ui/badge';
import { Card, CardContent, CardHeader, CardTitle } from '@/components/ui/card';
import { ErrorMessage, Loading, PageHeader } from '@/components/page';
import { Notes } from '@/components/lifecycle/notes';
import { History } from '@/components/lifecycle/history';
import { Effects } from '@/components/lifecycle/effects';
import { transitionErrorMessage } from '@/components/lifecycle/api';
import { useMe } from '@/lib/auth';
import { ApiError } from '@/lib/errors';
import { date, money } from '@/lib/format';
import { leadKeys, useDeleteLead, useLead, useLeadTransition } from '../api';
import { Dialog, DialogContent } from '@/components/ui/dialog';
import { canConvert, moves } from '../types';
import { LeadForm } from './lead-form';
import { LostReasonDialog } from './lost-reason-dialog';
import { CrmLinks } from './crm-links';
import { Activities } from './activities';

const STAFF = ['admin', 'restricted_admin', 'fulfiller'];

export function LeadDetail() {
  const { id = '' } = useParams();
  const { t } = useTranslation();
  const me = useMe();
  const qc = useQueryClient();
  const lead = useLead(id);
  const transition = useLeadTransition();
  const [failure, setFailure] = React.useState<{ message: string; reload: boolean } | null>(null);
  const [converting, setConverting] = React.useState(false);
  const [confirmDelete, setConfirmDelete] = React.useState(false);
  const [losing, setLosing] = React.useState(false);
  const remove = useDeleteLead();
  const navigate = useNavigate();

  // A conversion creates the order in the background: poll until the lead names it.
  React.useEffect(() => {
    if (!converting || lead.data?.converted_order_id) {
      if (lead.data?.converted_order_id) setConverting(false);
      return;
    }
    const h = setInterval(() => void qc.invalidateQueries({ queryKey: leadKeys.detail(id) }), 1000);
    return () => clearInterval(h);
  }, [converting, lead.data?.converted_order_id, qc, id]);

  if (lead.isPending) return <Loading />;
  if (lead.error) return <ErrorMessage error={lead.error} />;
  const l = lead.data;
  // Who may edit or move the lead may also add an activity to it.
  const mayEdit = l.allowed_events.length > 0 || me.permissions.includes('lead:update_status');

  const send = (event: string) => {
    setFailure(null);
    if (event === 'lose') {
      setLosing(true);
      return;
    }
    transition.mutate(
      { lead: l, event },
      {
        onSuccess: () => {
          if (event === 'convert') setConverting(true);
        },
        onError: (err) =>
          setFailure({
            message: transitionErrorMessage(t, err),
            reload: err instanceof ApiError && err.status === 409,
          }),
      },
    );
  };

  const row = (label: string, value: React.ReactNode) => (
    <div className="grid grid-cols-3 gap-2 py-1 text-sm">
      <dt className="font-medium text-slate-700">{label}</dt>
      <dd className="col-span-2 break-words">{value}</dd>
    </div>
  );

  return (
    <div className="flex flex-col gap-4">
      <PageHeader
        title={l.title}
        actions={
          <>
            <Link to="/leads" className={buttonVariants({ variant: 'outline' })}>
              {t('leads.backToBoard')}
            </Link>
            {mayEdit ? (
              <Link to={`/leads/${l.id}/edit`} className={buttonVariants({ variant: 'secondary' })}>
                {t('common.edit')}
              </Link>
            ) : null}
            {me.permissions.includes('lead:delete') ? (
              <Button variant="destructive" onClick={() => setConfirmDelete(true)}>
                {t('common.delete')}
              </Button>
            ) : null}
          </>
        }
      >
        <Badge variant="blue" data-testid="lead-state">
          {t(`states.${l.state}`)}
        </Badge>
      </PageHeader>
      <div aria-live="polite">
        {failure ? (
          <Alert className="flex flex-wrap items-center justify-between gap-2">
            <span>{failure.message}</span>
            {failure.reload ? (
              <Button size="sm" variant="outline" onClick={() => { setFailure(null); void lead.refetch(); }}>
                {t('common.reload')}
              </Button>
            ) : null}
          </Alert>
        ) : null}
        {converting ? <Alert variant="info">{t('leads.converting')}</Alert> : null}
        {l.converted_order_id ? (
          <Alert variant="success">
            {t('leads.convertedTo')}{' '}
            <Link className="font-medium underline" to={`/orders/${l.converted_order_id}`}>
              {t('leads.openOrder')}
            </Link>
          </Alert>
        ) : null}
      </div>
      <div className="grid gap-4 lg:grid-cols-3">
        <div className="flex flex-col gap-4 lg:col-span-2">
          <Card>
            <CardHeader>
              <CardTitle>{t('leads.details')}</CardTitle>
            </CardHeader>
            <CardContent>
              <dl>
                {row(t('leads.fields.organization'), l.organization)}
                {row(t('leads.fields.contact_name'), l.contact_name)}
                {row(t('leads.fields.contact_email'), l.contact_email)}
                {row(t('leads.fields.contact_phone'), l.contact_phone ?? '—')}
                {row(t('leads.fields.value'), money(l.value, l.currency))}
                {row(t('leads.fields.probability'), l.probability != null ? `${l.probability} %` : '—')}
                {row(t('leads.fields.expected_close_date'), date(l.expected_close_date))}
                {row(t('leads.fields.source'), l.source ?? '—')}
                {l.lost_reason ? row(t('leads.fields.lost_reason'), l.lost_reason) : null}
              </dl>
            </CardContent>
          </Card>
          <Card>
            <CardHeader>
              <CardTitle>{t('leads.actions')}</CardTitle>
            </CardHeader>
            <CardContent className="flex flex-wrap gap-2">
              {moves(l).map((m) => (
                <Button key={m.event} variant="outline" disabled={transition.isPending} onClick={() => send(m.event)}>
                  {t(`leads.eventAction.${m.event}`, { state: t(`states.${m.to}`) })}
                </Button>
              ))}
              {canConvert(l) && !converting ? (
                <Button disabled={transition.isPending} onClick={() => send('convert')}>
                  {t('leads.eventAction.convert')}
                </Button>
              ) : null}
              {moves(l).length === 0 && !canConvert(l) ? (
                <p className="text-sm text-slate-700">{t('leads.noActions')}</p>
              ) : null}
            </CardContent>
          </Card>
          <Activities leadId={l.id} initial={{ items: l.activities, at: lead.dataUpdatedAt }} canAdd={mayEdit} />
          <Effects kind="leads" id={l.id} version={l.version} />
          <Notes kind="leads" id={l.id} staff={STAFF.includes(me.role)} />
        </div>
        <div className="grid content-start gap-4">
          <CrmLinks links={l.crm_links} />
          <History kind="leads" id={l.id} />
        </div>
      </div>
      <Dialog open={confirmDelete} onOpenChange={setConfirmDelete}>
        <DialogContent title={t('leads.deleteTitle')} description={t('leads.deleteBody', { title: l.title })}>
          <ErrorMessage error={remove.error} />
          <div className="mt-3 flex justify-end gap-2">
            <Button variant="outline" onClick={() => setConfirmDelete(false)}>{t('common.cancel')}</Button>
            <Button
              variant="destructive"
              disabled={remove.isPending}
              onClick={() => remove.mutate(l.id, { onSuccess: () => void navigate('/leads') })}
            >
              {t('common.delete')}
            </Button>
          </div>
        </DialogContent>
      </Dialog>
      <LostReasonDialog
        open={losing}
        title={l.title}
        onOpenChange={setLosing}
        onConfirm={async (lostReason) => {
          try {
            await transition.mutateAsync({ lead: l, event: 'lose', lostReason });
          } catch (err) {
            // A stale or refused move is explained on the page, with its Reload.
            if (!(err instanceof ApiError && err.status === 409)) throw err;
            setFailure({ message: transitionErrorMessage(t, err), reload: true });
          }
        }}
      />
    </div>
  );
}

export function LeadEdit() {
  const { id = '' } = useParams();
  const { t } = useTranslation();
  const lead = useLead(id);
  if (lead.isPending) return <Loading />;
  if (lead.error) return <ErrorMessage error={lead.error} />;
  return (
    <div>
      <PageHeader title={t('leads.edit')} />
      <LeadForm lead={lead.data} />
    </div>
  );
}
