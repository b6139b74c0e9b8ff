import * as React from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { useTranslation } from 'react-i18next';
import { Button, buttonVariants } from '@/components/ui/button';
import { Alert } from '@/components/ui/alert';
import { Badge } from '@/components/ui/badge';
import { Card, CardContent, CardHeader, CardTitle } from '@/components/ui/card';
import { Table, TBody, TD, TH, THead, TR } from '@/components/ui/table';
import { Dialog, DialogContent } from '@/components/ui/dialog';
import { ErrorMessage, Loading, PageHeader } from '@/components/page';
import { Notes } from '@/components/lifecycle/notes';
import { History } from '@/components/lifecycle/history';
import { Effects as LifecycleEffects } from '@/components/lifecycle/effects';
import { transitionErrorMessage } from '@/components/lifecycle/api';
import { useCan, useMe } from '@/lib/auth';
import { ReassignDialog } from '@/components/reassign-dialog';
import { ApiError } from '@/lib/errors';
import { dateTime, money } from '@/lib/format';
import { useCatalogue, useDeleteOrder, useOrder, useOrderContract, useOrderTransition, useReassignOrder } from '../api';
import { ORDER_EVENTS, type Order } from '../types';
import { stateVariant } from './order-list';

const STAFF = ['admin', 'restricted_admin', 'fulfiller'];

/** What the order's side effects left: the billing quote and the CRM deal, or pending. */
function BillingRefs({ order }: { order: Order }) {
  const { t } = useTranslation();
  const quoteExpected = ['sent', 'in_fulfillment', 'fulfilled'].includes(order.state);
  const row = (label: string, value: React.ReactNode) => (
    <div className="grid grid-cols-2 gap-2 py-1 text-sm">
      <dt className="text-slate-700">{label}</dt>
      <dd>{value}</dd>
    </div>
  );
  return (
    <Card>
      <CardHeader>
        <CardTitle>{t('orders.effects')}</CardTitle>
      </CardHeader>
      <CardContent>
        <dl>
          {row(
            t('orders.billingQuote'),
            order.billing_quote_id ? (
              <span data-testid="billing-quote">
                {order.billing_quote_id} <span className="text-slate-700">({order.billing_provider})</span>
              </span>
            ) : quoteExpected ? (
              <Badge variant="amber">{t('orders.pending')}</Badge>
            ) : (
              <span className="text-slate-700">{t('orders.notYet')}</span>
            ),
          )}
          {row(
            t('orders.crmDeal'),
            order.crm_deal_id ? (
              <span>
                {order.crm_deal_id} <span className="text-slate-700">({order.crm_provider})</span>
              </span>
            ) : (
              <span className="text-slate-700">{t('orders.notYet')}</span>
            ),
          )}
        </dl>
      </CardContent>
    </Card>
  );
}

export function OrderDetail() {
  const { id = '' } = useParams();
  const { t } = useTranslation();
  const me = useMe();
  const order = useOrder(id);
  const products = useCatalogue();
  const transition = useOrderTransition();
  const fulfilled = order.data?.state === 'fulfilled';
  const contract = useOrderContract(id, fulfilled);
  const [failure, setFailure] = React.useState<{ message: string; reload: boolean } | null>(null);
  const [confirm, setConfirm] = React.useState<string | null>(null);
  const can = useCan();
  const navigate = useNavigate();
  const remove = useDeleteOrder();
  const reassign = useReassignOrder();
  const [confirmDelete, setConfirmDelete] = React.useState(false);
  const [reassigning, setReassigning] = React.useState(false);
  const [notice, setNotice] = React.useState<string | null>(null);

  // A quote is asked for in the background after sending: look again until it is there.
  const awaitingQuote = order.data && ['sent', 'in_fulfillment'].includes(order.data.state) && !order.data.billing_quote_id;
  React.useEffect(() => {
    if (!awaitingQuote) return;
    const h = setInterval(() => void order.refetch(), 2000);
    return () => clearInterval(h);
  }, [awaitingQuote, order]);

  if (order.isPending) return <Loading />;
  if (order.error) return <ErrorMessage error={order.error} />;
  const o = order.data;
  const names = new Map((products.data ?? []).map((p) => [p.id, p]));
  const events = ORDER_EVENTS.filter((e) => o.allowed_events.includes(e));

  const editable = o.state === 'created' && can('order:create');
  const deletable = o.state !== 'fulfilled' && can('order:delete');
  const doDelete = () => {
    setFailure(null);
    remove.mutate(o.id, {
      onSuccess: () => void navigate('/orders', { replace: true }),
      onError: (err) => {
        setConfirmDelete(false);
        setFailure({ message: err instanceof ApiError ? err.message : t('errors.network'), reload: false });
      },
    });
  };

  const send = (event: string) => {
    setFailure(null);
    setConfirm(null);
    transition.mutate(
      { order: o, event },
      {
        onError: (err) =>
          setFailure({ message: transitionErrorMessage(t, err), reload: err instanceof ApiError && err.status === 409 }),
      },
    );
  };

  return (
    <div className="flex flex-col gap-4">
      <PageHeader
        title={t('orders.orderTitle', { reference: o.reference })}
        actions={
          <Link to="/orders" className={buttonVariants({ variant: 'outline' })}>
            {t('orders.backToList')}
          </Link>
        }
      >
        <Badge variant={stateVariant(o.state)} data-testid="order-state">
          {t(`states.${o.state}`)}
        </Badge>
      </PageHeader>
      <div aria-live="polite">
        {failure ? (
          <Alert className="flex flex-wrap items-center justify-between gap-2">
            <span>{failure.message}</span>
            {failure.reload ? (
              <Button size="sm" variant="outline" onClick={() => { setFailure(null); void order.refetch(); }}>
                {t('common.reload')}
              </Button>
            ) : null}
          </Alert>
        ) : null}
        {notice ? <Alert variant="success">{notice}</Alert> : null}
        {fulfilled && contract.data === null ? <Alert variant="info">{t('orders.contractPending')}</Alert> : null}
        {fulfilled && contract.data ? (
          <Alert variant="success">
            {t('orders.contractCreated')}{' '}
            <Link className="font-medium underline" to={`/contracts/${contract.data.id}`}>
              {t('orders.openContract')}
            </Link>
          </Alert>
        ) : null}
      </div>
      <div className="grid gap-4 lg:grid-cols-3">
        <div className="flex flex-col gap-4 lg:col-span-2">
          <Card>
            <CardHeader>
              <CardTitle>{t('orders.lines')}</CardTitle>
            </CardHeader>
            <CardContent>
              <Table>
                <THead>
                  <TR>
                    <TH>{t('orders.product')}</TH>
                    <TH className="text-right">{t('orders.quantity')}</TH>
                    <TH>{t('orders.duration')}</TH>
                    <TH className="text-right">{t('orders.discount')}</TH>
                    <TH className="text-right">{t('common.total')}</TH>
                  </TR>
                </THead>
                <TBody>
                  {o.lines.map((l, i) => (
                    <TR key={i}>
                      <TD>{names.get(l.product_id)?.name ?? l.product_id}</TD>
                      <TD className="text-right">
                        {l.quantity} {names.get(l.product_id)?.unit ?? ''}
                      </TD>
                      <TD>{t('orders.months', { count: l.duration_months })}</TD>
                      <TD className="text-right">−{money(l.discount, o.currency)}</TD>
                      <TD className="text-right">{money(l.total, o.currency)}</TD>
                    </TR>
                  ))}
                </TBody>
              </Table>
              <dl className="ml-auto mt-2 grid grid-cols-2 gap-x-2 text-sm sm:w-72">
                <dt className="text-slate-700">{t('orders.subtotal')}</dt>
                <dd className="text-right">{money(o.subtotal, o.currency)}</dd>
                <dt className="text-slate-700">{t('orders.discount')}</dt>
                <dd className="text-right">−{money(o.discount, o.currency)}</dd>
                <dt className="font-semibold">{t('common.total')}</dt>
                <dd className="text-right font-semibold" data-testid="order-total" data-amount={o.total}>
                  {money(o.total, o.currency)}
                </dd>
              </dl>
              <p className="mt-1 text-xs text-slate-700">{t('common.created')}: {dateTime(o.created_at)}</p>
            </CardContent>
          </Card>
          <Card>
            <CardHeader>
              <CardTitle>{t('orders.actions')}</CardTitle>
            </CardHeader>
            <CardContent className="flex flex-wrap gap-2">
              {events.map((e) => (
                <Button
                  key={e}
                  variant={e === 'cancel' ? 'destructive' : 'default'}
                  disabled={transition.isPending}
                  onClick={() => (e === 'cancel' ? setConfirm(e) : send(e))}
                >
                  {t(`orders.event.${e}`)}
                </Button>
              ))}
              {editable ? (
                <Link to={`/orders/${o.id}/edit`} className={buttonVariants({ variant: 'outline' })}>
                  {t('orders.editLines')}
                </Link>
              ) : null}
              {can('order:reassign') ? (
                <Button variant="outline" onClick={() => { setNotice(null); setReassigning(true); }}>
                  {t('reassign.action')}
                </Button>
              ) : null}
              {deletable ? (
                <Button variant="destructive" disabled={remove.isPending} onClick={() => setConfirmDelete(true)}>
                  {t('orders.delete')}
                </Button>
              ) : null}
              {events.length === 0 && !editable && !deletable && !can('order:reassign') ? (
                <p className="text-sm text-slate-700">{t('orders.noActions')}</p>
              ) : null}
            </CardContent>
          </Card>
          <BillingRefs order={o} />
          <LifecycleEffects kind="orders" id={o.id} version={o.version} />
          <Notes kind="orders" id={o.id} staff={STAFF.includes(me.role)} />
        </div>
        <History kind="orders" id={o.id} />
      </div>
      <Dialog open={confirm !== null} onOpenChange={(open) => !open && setConfirm(null)}>
        <DialogContent title={t('orders.confirmCancelTitle')} description={t('orders.confirmCancel', { reference: o.reference })}>
          <div className="mt-3 flex justify-end gap-2">
            <Button variant="outline" onClick={() => setConfirm(null)}>
              {t('common.back')}
            </Button>
            <Button variant="destructive" onClick={() => confirm && send(confirm)}>
              {t('orders.event.cancel')}
            </Button>
          </div>
        </DialogContent>
      </Dialog>
      <Dialog open={confirmDelete} onOpenChange={setConfirmDelete}>
        <DialogContent title={t('orders.confirmDeleteTitle')} description={t('orders.confirmDelete', { reference: o.reference })}>
          <div className="mt-3 flex justify-end gap-2">
            <Button variant="outline" onClick={() => setConfirmDelete(false)}>
              {t('common.back')}
            </Button>
            <Button variant="destructive" disabled={remove.isPending} onClick={doDelete}>
              {t('orders.delete')}
            </Button>
          </div>
        </DialogContent>
      </Dialog>
      <ReassignDialog
        open={reassigning}
        onOpenChange={setReassigning}
        title={t('reassign.titleOf', { reference: o.reference })}
        current={{ partner_id: o.partner_id ?? null, distributor_id: o.distributor_id ?? null }}
        onSubmit={async (owners) => {
          await reassign.mutateAsync({ id: o.id, ...owners });
          setNotice(t('reassign.done', { reference: o.reference }));
        }}
      />
    </div>
  );
}
