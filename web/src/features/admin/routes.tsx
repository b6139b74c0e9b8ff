import { Route, Routes } from 'react-router';
import { Forbidden, NotFound } from '@/components/page';
import { useCan } from '@/lib/auth';
import { Users } from './components/users';
import { Organisations } from './components/organisations';
import { Products } from './components/products';

function Only({ perms, children }: { perms: string[]; children: React.ReactNode }) {
  const can = useCan();
  return can(...perms) ? <>{children}</> : <Forbidden />;
}

export default function AdminRoutes() {
  return (
    <Routes>
      <Route path="users" element={<Only perms={['user:manage']}><Users /></Only>} />
      <Route path="organisations" element={<Only perms={['partner:manage', 'distributor:manage']}><Organisations /></Only>} />
      <Route path="products" element={<Only perms={['product:manage']}><Products /></Only>} />
      <Route path="*" element={<NotFound />} />
    </Routes>
  );
}
