import { Route, Routes } from 'react-router';
import { Forbidden, NotFound } from '@/components/page';
import { useCan } from '@/lib/auth';
import { OrderList } from './components/order-list';
import { OrderDetail } from './components/order-detail';
import { OrderWizard } from './components/order-wizard';

function NewOrder() {
  const can = useCan();
  return can('order:create') ? <OrderWizard /> : <Forbidden />;
}

export default function OrderRoutes() {
  return (
    <Routes>
      <Route index element={<OrderList />} />
      <Route path="new" element={<NewOrder />} />
      <Route path=":id" element={<OrderDetail />} />
      <Route path="*" element={<NotFound />} />
    </Routes>
  );
}
