import { Route, Routes } from 'react-router';
import { useTranslation } from 'react-i18next';
import { NotFound, PageHeader, Forbidden } from '@/components/page';
import { useCan } from '@/lib/auth';
import { LeadKanban } from './components/kanban';
import { LeadDetail, LeadEdit } from './components/lead-detail';
import { LeadForm } from './components/lead-form';

function NewLead() {
  const { t } = useTranslation();
  const can = useCan();
  if (!can('lead:create')) return <Forbidden />;
  return (
    <div>
      <PageHeader title={t('leads.new')} />
      <LeadForm />
    </div>
  );
}

export default function LeadRoutes() {
  return (
    <Routes>
      <Route index element={<LeadKanban />} />
      <Route path="new" element={<NewLead />} />
      <Route path=":id" element={<LeadDetail />} />
      <Route path=":id/edit" element={<LeadEdit />} />
      <Route path="*" element={<NotFound />} />
    </Routes>
  );
}
