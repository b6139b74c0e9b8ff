import { Route, Routes } from 'react-router';
import { NotFound } from '@/components/page';
import { ContractList } from './components/contract-list';
import { ContractDetailPage } from './components/contract-detail';

export default function ContractRoutes() {
  return (
    <Routes>
      <Route index element={<ContractList />} />
      <Route path=":id" element={<ContractDetailPage />} />
      <Route path="*" element={<NotFound />} />
    </Routes>
  );
}
