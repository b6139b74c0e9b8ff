import { Route, Routes, useParams } from 'react-router';
import { useTranslation } from 'react-i18next';
import { Alert } from '@/components/ui/alert';
import { ErrorMessage, Forbidden, Loading, NotFound } from '@/components/page';
import { useCan } from '@/lib/auth';
import { useOrder } from './api';
import { OrderList } from './components/order-list';
import { OrderDetail } from './components/order-detail';
import { OrderWizard } from './components/order-wizard';

function NewOrder() {
  const can = useCan();
  return can('order:create') ? <OrderWizard /> : <Forbidden />;
}

/** The wizard's line editor on an order still `created`. */
function EditOrderLines() {
  const { id = '' } = useParams();
  const { t } = useTranslation();
  const can = useCan();
  const order = useOrder(id);
  if (!can('order:create')) return <Forbidden />;
  if (order.isPending) return <Loading />;
  if (order.error) return <ErrorMessage error={order.error} />;
  if (order.data.state !== 'created') return <Alert>{t('orders.notEditable')}</Alert>;
  return <OrderWizard key={`${order.data.id}-${order.data.version}`} order={order.data} />;
}

export default function OrderRoutes() {
  return (
    <Routes>
      <Route index element={<OrderList />} />
      <Route path="new" element={<NewOrder />} />
      <Route path=":id" element={<OrderDetail />} />
      <Route path=":id/edit" element={<EditOrderLines />} />
      <Route path="*" element={<NotFound />} />
    </Routes>
  );
}
