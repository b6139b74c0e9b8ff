import { useTranslation } from 'react-i18next';
import { useSearchParams } from 'react-router';
import { PageHeader } from '@/components/page';
import { Tabs, TabsContent, TabsList, TabsTrigger } from '@/components/ui/tabs';
import { Runs } from './components/runs';
import { Quarantine } from './components/quarantine';
import { Conflicts } from './components/conflicts';
import { LakeExplorer } from './components/lake';
import { SyncSettingsPanel } from './components/settings';
import { OwnerLinks } from './components/owners';

const TABS = ['runs', 'quarantine', 'conflicts', 'lake', 'owners', 'settings'] as const;

export default function Sync() {
  const { t } = useTranslation();
  const [params, setParams] = useSearchParams();
  const tab = TABS.find((x) => x === params.get('tab')) ?? 'runs';
  return (
    <div>
      <PageHeader title={t('sync.title')} />
      <Tabs value={tab} onValueChange={(v) => setParams({ tab: v }, { replace: true })}>
        <TabsList aria-label={t('sync.title')}>
          {TABS.map((x) => (
            <TabsTrigger key={x} value={x}>{t(`sync.tabs.${x}`)}</TabsTrigger>
          ))}
        </TabsList>
        <TabsContent value="runs"><Runs /></TabsContent>
        <TabsContent value="quarantine"><Quarantine /></TabsContent>
        <TabsContent value="conflicts"><Conflicts /></TabsContent>
        <TabsContent value="lake"><LakeExplorer /></TabsContent>
        <TabsContent value="owners"><OwnerLinks /></TabsContent>
        <TabsContent value="settings"><SyncSettingsPanel /></TabsContent>
      </Tabs>
    </div>
  );
}
