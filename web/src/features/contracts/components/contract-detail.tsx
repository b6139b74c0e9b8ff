import * as React from 'react';
import { Link, useParams } from 'react-router';
import { useTranslation } from 'react-i18next';
import { Button, buttonVariants } from '@/components/ui/button';
import { Alert } from '@/components/ui/alert';
import { Badge } from '@/components/ui/badge';
import { Select } from '@/components/ui/input';
import { Card, CardContent, CardHeader, CardTitle } from '@/components/ui/card';
import { Table, TBody, TD, TH, THead, TR } from '@/components/ui/table';
import { Dialog, DialogContent } from '@/components/ui/dialog';
import { FormField } from '@/components/form-field';
import { ErrorMessage, Loading, PageHeader } from '@/components/page';
import { Notes } from '@/components/lifecycle/notes';
import { History } from '@/components/lifecycle/history';
import { Effects } from '@/components/lifecycle/effects';
import { transitionErrorMessage } from '@/components/lifecycle/api';
import { useCan, useMe } from '@/lib/auth';
import { ReassignDialog } from '@/components/reassign-dialog';
import { ApiError } from '@/lib/errors';
import { date, dateTime, money } from '@/lib/format';
import { useContract, useContractTransition, useReassignContract, useReplacementOrders } from '../api';
import { stateVariant } from './contract-list';

const STAFF = ['admin', 'restricted_admin', 'fulfiller'];
const EVENTS = ['upgrade', 'downgrade', 'mark_lost'] as const;

export function ContractDetailPage() {
  const { id = '' } = useParams();
  const { t } = useTranslation();
  const me = useMe();
  const contract = useContract(id);
  const transition = useContractTransition();
  const [dialog, setDialog] = React.useState<string | null>(null);
  const [orderId, setOrderId] = React.useState('');
  const [failure, setFailure] = React.useState<{ message: string; reload: boolean } | null>(null);
  const can = useCan();
  const reassign = useReassignContract();
  const [reassigning, setReassigning] = React.useState(false);
  const [notice, setNotice] = React.useState<string | null>(null);
  const orders = useReplacementOrders(dialog === 'upgrade' || dialog === 'downgrade');

  if (contract.isPending) return <Loading />;
  if (contract.error) return <ErrorMessage error={contract.error} />;
  const c = contract.data;
  const events = EVENTS.filter((e) => c.allowed_events.includes(e));
  const needsOrder = dialog === 'upgrade' || dialog === 'downgrade';

  const apply = () => {
    if (!dialog) return;
    setFailure(null);
    transition.mutate(
      { contract: c, event: dialog, orderId: needsOrder ? orderId : undefined },
      {
        onSuccess: () => setDialog(null),
        onError: (err) => {
          setDialog(null);
          setFailure({ message: transitionErrorMessage(t, err), reload: err instanceof ApiError && err.status === 409 });
        },
      },
    );
  };

  const row = (label: string, value: React.ReactNode) => (
    <div className="grid grid-cols-2 gap-2 py-1 text-sm">
      <dt className="text-slate-700">{label}</dt>
      <dd>{value}</dd>
    </div>
  );

  return (
    <div className="flex flex-col gap-4">
      <PageHeader
        title={t('contracts.contractTitle', { id: c.id.slice(0, 8) })}
        actions={
          <Link to="/contracts" className={buttonVariants({ variant: 'outline' })}>
            {t('contracts.backToList')}
          </Link>
        }
      >
        <div className="flex gap-2">
          <Badge variant={stateVariant(c.state)} data-testid="contract-state">
            {t(`states.${c.state}`)}
          </Badge>
          {c.renewal_due ? <Badge variant="amber">{t('contracts.renewalDue')}</Badge> : null}
        </div>
      </PageHeader>
      {failure ? (
        <Alert className="flex flex-wrap items-center justify-between gap-2">
          <span>{failure.message}</span>
          {failure.reload ? (
            <Button size="sm" variant="outline" onClick={() => { setFailure(null); void contract.refetch(); }}>
              {t('common.reload')}
            </Button>
          ) : null}
        </Alert>
      ) : null}
      <div aria-live="polite">{notice ? <Alert variant="success">{notice}</Alert> : null}</div>
      <div className="grid gap-4 lg:grid-cols-3">
        <div className="flex flex-col gap-4 lg:col-span-2">
          <Card>
            <CardHeader>
              <CardTitle>{t('contracts.details')}</CardTitle>
            </CardHeader>
            <CardContent>
              <dl>
                {row(t('contracts.order'), <Link className="text-blue-800 underline" to={`/orders/${c.order_id}`}>{t('contracts.openOrder')}</Link>)}
                {row(t('contracts.activation'), date(c.activation_date))}
                {row(t('contracts.expiration'), date(c.expiration_date))}
                {row(t('contracts.renewal'), c.renewal_due ? t('contracts.renewalDueSince', { date: date(c.renewal_due_at) }) : '—')}
                {c.replaced_by_order_id
                  ? row(t('contracts.replacedBy'), <Link className="text-blue-800 underline" to={`/orders/${c.replaced_by_order_id}`}>{t('contracts.openOrder')}</Link>)
                  : null}
                {row(t('contracts.billingProvider'), c.billing_provider ?? '—')}
              </dl>
            </CardContent>
          </Card>
          <Card>
            <CardHeader>
              <CardTitle>{t('contracts.invoices')}</CardTitle>
            </CardHeader>
            <CardContent>
              {c.invoices.length === 0 && c.billing_invoices.length === 0 ? (
                <p className="text-sm text-slate-700">{t('contracts.noInvoices')}</p>
              ) : null}
              {c.invoices.length > 0 ? (
                <Table>
                  <THead>
                    <TR>
                      <TH>{t('contracts.number')}</TH>
                      <TH>{t('common.state')}</TH>
                      <TH className="text-right">{t('common.total')}</TH>
                      <TH className="text-right">{t('contracts.due')}</TH>
                      <TH>{t('contracts.dueDate')}</TH>
                    </TR>
                  </THead>
                  <TBody>
                    {c.invoices.map((inv) => (
                      <TR key={`${inv.provider}-${inv.external_id}`}>
                        <TD>{inv.number ?? inv.external_id}</TD>
                        <TD>{inv.status ? t(`contracts.invoiceStatus.${inv.status}`, { defaultValue: inv.status }) : t('contracts.awaitingSync')}</TD>
                        <TD className="text-right">{money(inv.amount_total, inv.currency ?? 'EUR')}</TD>
                        <TD className="text-right">{money(inv.amount_due, inv.currency ?? 'EUR')}</TD>
                        <TD>{date(inv.due_date)}{inv.synced_at ? <span className="block text-xs text-slate-700">{t('contracts.synced', { at: dateTime(inv.synced_at) })}</span> : null}</TD>
                      </TR>
                    ))}
                  </TBody>
                </Table>
              ) : c.billing_invoices.length > 0 ? (
                <ul className="text-sm">
                  {c.billing_invoices.map((ref) => (
                    <li key={ref}>{ref}</li>
                  ))}
                </ul>
              ) : null}
            </CardContent>
          </Card>
          {events.length > 0 || can('contract:reassign') ? (
            <Card>
              <CardHeader>
                <CardTitle>{t('contracts.manage')}</CardTitle>
              </CardHeader>
              <CardContent className="flex flex-wrap gap-2">
                {events.map((e) => (
                  <Button key={e} variant={e === 'mark_lost' ? 'destructive' : 'outline'} onClick={() => { setOrderId(''); setDialog(e); }}>
                    {t(`contracts.event.${e}`)}
                  </Button>
                ))}
                {can('contract:reassign') ? (
                  <Button variant="outline" onClick={() => { setNotice(null); setReassigning(true); }}>
                    {t('reassign.action')}
                  </Button>
                ) : null}
              </CardContent>
            </Card>
          ) : null}
          <Effects kind="contracts" id={c.id} version={c.version} />
          <Notes kind="contracts" id={c.id} staff={STAFF.includes(me.role)} />
        </div>
        <History kind="contracts" id={c.id} />
      </div>
      <Dialog open={dialog !== null} onOpenChange={(open) => !open && setDialog(null)}>
        {dialog ? (
          <DialogContent title={t(`contracts.event.${dialog}`)} description={t(`contracts.confirm.${dialog}`)}>
            {needsOrder ? (
              <FormField id="replacement-order" label={t('contracts.replacementOrder')}>
                {(a) => (
                  <Select {...a} value={orderId} onChange={(e) => setOrderId(e.target.value)}>
                    <option value="">{t('contracts.chooseOrder')}</option>
                    {(orders.data ?? [])
                      .filter((o) => o.id !== c.order_id && o.state !== 'cancelled')
                      .map((o) => (
                        <option key={o.id} value={o.id}>
                          {o.reference} — {money(o.total, o.currency)}
                        </option>
                      ))}
                  </Select>
                )}
              </FormField>
            ) : null}
            <div className="mt-3 flex justify-end gap-2">
              <Button variant="outline" onClick={() => setDialog(null)}>
                {t('common.cancel')}
              </Button>
              <Button
                variant={dialog === 'mark_lost' ? 'destructive' : 'default'}
                disabled={transition.isPending || (needsOrder && !orderId)}
                onClick={apply}
              >
                {t(`contracts.event.${dialog}`)}
              </Button>
            </div>
          </DialogContent>
        ) : null}
      </Dialog>
      <ReassignDialog
        open={reassigning}
        onOpenChange={setReassigning}
        title={t('reassign.titleOf', { reference: c.id.slice(0, 8) })}
        current={{ partner_id: c.partner_id ?? null, distributor_id: c.distributor_id ?? null }}
        onSubmit={async (owners) => {
          await reassign.mutateAsync({ id: c.id, ...owners });
          setNotice(t('reassign.done', { reference: c.id.slice(0, 8) }));
        }}
      />
    </div>
  );
}
