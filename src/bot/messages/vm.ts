import type { CatalogPair } from '../i18n.js';

/** Messages of `/vm`, VM start before a run, idle auto-stop and Azure errors. */
export const vmMessages: CatalogPair = {
  'zh-CN': {
    'vm.help':
      '`/vm list` 查看所有虚拟机\n`/vm start <虚拟机>` 启动\n`/vm stop <虚拟机>` 释放（deallocate，停止计费；有运行时需要管理员确认）\n`/vm status <虚拟机>` 电源状态和 GPU 使用情况',
    'vm.error.unknown_action': '没有 “{word}” 这个子命令。{hint}可用：list、start、stop、status。',
    'vm.error.missing_vm': '请指定虚拟机，例如 `/vm {action} {first}`。可用的虚拟机：{valid}。',
    'vm.error.extra_words': '看不懂多余的 “{word}”。用法：`/vm {action} <虚拟机>`。',

    'vm.power.running': '运行中',
    'vm.power.starting': '启动中',
    'vm.power.stopping': '停止中',
    'vm.power.stopped': '已停止（仍在计费）',
    'vm.power.deallocating': '释放中',
    'vm.power.deallocated': '已释放（不计费）',
    'vm.power.unknown': '状态未知',
    'vm.power.always_on': '常开（未配置 Azure）',
    'vm.power.error': '读取失败',

    'vm.list.title': '虚拟机',
    'vm.list.line': '*{vm}* · {power} · {gpus} 块 GPU{model} · {run} · {idle} · 自动关机：{policy}',
    'vm.list.run': '运行 #{id} {recipe}（{status}）',
    'vm.list.runs_more': '另有 {count} 个',
    'vm.list.no_run': '没有运行',
    'vm.list.idle': '已空闲 {duration}',
    'vm.list.idle_unknown': '空闲时长未知',
    'vm.list.busy': '使用中',
    'vm.list.policy_off': '关闭',
    'vm.list.policy_on': '空闲 {idle} 分钟后提醒，再过 {grace} 分钟释放',
    'vm.list.policy_unmanaged': '不适用',

    'vm.start.not_managed': '{vm} 没有配置 Azure（`vms.{vm}.azure`），机器人无法启动它，视为一直开着。',
    'vm.start.already_running': '{vm} 已经在运行。',
    'vm.start.starting': '正在启动虚拟机 {vm}…',
    'vm.start.waiting': '{vm} 当前{power}，等它结束后再启动…',
    'vm.start.done': '虚拟机 {vm} 已启动，用时 {duration}。',

    'vm.stop.not_managed': '{vm} 没有配置 Azure（`vms.{vm}.azure`），机器人无法释放它。',
    'vm.stop.denied': '只有 {vm} 的负责人或管理员可以释放它：{who}。',
    'vm.stop.already': '{vm} 当前{power}，不需要再释放。',
    'vm.stop.active_runs': '{vm} 上还有进行中的运行：{runs}。释放会中断它们，所以没有执行。',
    'vm.stop.active_runs_admin': '{vm} 上还有进行中的运行：{runs}。你是管理员，确认后可以强制释放（运行会被中断，之后可用 `/restart` 从检查点继续）。',
    'vm.stop.force_button': '强制释放 {vm}',
    'vm.stop.confirm_title': '强制释放虚拟机？',
    'vm.stop.confirm_text': '{vm} 上的运行会被中断。确定要释放吗？',
    'vm.stop.confirm_yes': '释放',
    'vm.stop.confirm_no': '取消',
    'vm.stop.deallocating': '正在释放虚拟机 {vm}（deallocate，释放后不再计费）…',
    'vm.stop.done': '虚拟机 {vm} 已释放，用时 {duration}。本周已节省 {hours} 小时{cost}。',
    'vm.stop.stale_button': '这个按钮已过期：{vm} 的情况已经变了，请重新运行 `/vm stop {vm}`。',

    'vm.status.title': '{vm} · {power}',
    'vm.status.not_running': '虚拟机没有在运行，读不到 GPU 信息。用 `/vm start {vm}` 启动。',
    'vm.status.gpu': '*GPU {index}* {name}：显存 {used}/{total} MiB，利用率 {utilization}',
    'vm.status.process': '    • {user} · pid {pid} · {name} · {memory} MiB',
    'vm.status.gpu_idle': '    没有进程在用这块 GPU',
    'vm.status.no_nvidia_smi': '{vm} 上没有 nvidia-smi（没有装 NVIDIA 驱动，或不是 GPU 机器）。',
    'vm.status.probe_failed': '读取 {vm} 的 GPU 信息失败：{reason}',
    'vm.status.unreachable': '连不上 {vm}：{reason}',
    'vm.status.sessions': '登录会话：{sessions}',
    'vm.status.no_sessions': '没有登录会话',
    'vm.status.unknown_user': '未知用户',
    'vm.status.na': '不可用',

    'vm.autostop.warning':
      '⏳ 虚拟机 *{vm}* 已空闲 {idle}（没有运行、部署或登录会话），将在 {deadline} 自动释放（deallocate）以停止计费。还要用的话请点“保持运行”。',
    'vm.autostop.keep_button': '保持运行',
    'vm.autostop.kept': '✅ <@{user}> 让 *{vm}* 保持运行，空闲计时重新开始。',
    'vm.autostop.kept_ephemeral': '好的，{vm} 会保持运行，空闲 {idle} 分钟后会再次提醒。',
    'vm.autostop.stale': '这个提醒已经处理过了，{vm} 不会因为它被释放。',
    'vm.autostop.cancelled_busy': '✅ *{vm}* 又开始使用了，这次自动释放已取消。',
    'vm.autostop.cancelled_power': '*{vm}* 已经不在运行状态（{power}），这次自动释放已取消。',
    'vm.autostop.deallocated': '💤 虚拟机 *{vm}* 空闲 {idle} 后已自动释放。本周已节省 {hours} 小时{cost}。需要时用 `/vm start {vm}`，或直接提交任务，机器人会先启动它。',
    'vm.autostop.failed': '⚠️ 自动释放 *{vm}* 失败：{reason}',
    'vm.cost.saved': '（约 {amount}）',

    'vm.run.deallocated_lost': '虚拟机 {vm} 在运行期间被释放了（Azure 状态 {power}），可能是 Spot 逐出或有人在门户里停止了它。运行 #{id} 已标记为失联，可以用 `/restart #{id}` 从最近的检查点继续。',

    'vm.azure_error.not_found':
      '在 Azure 里找不到虚拟机 {vm}（订阅 {subscription}，资源组 {resourceGroup}，名称 {azureName}）。请检查配置里的 `vms.{vm}.azure`。',
    'vm.azure_error.authorization_failed':
      '机器人没有权限操作虚拟机 {vm}。请给机器人的身份在资源组 {resourceGroup} 上分配 “Virtual Machine Contributor” 角色。',
    'vm.azure_error.quota_exceeded':
      '无法启动虚拟机 {vm}：订阅 {subscription} 的配额不够（{azureCode}）。请在 Azure 门户“用量 + 配额”里申请提高这个区域的 GPU 核数配额，或先释放其他虚拟机。',
    'vm.azure_error.allocation_failed':
      '无法启动虚拟机 {vm}：Azure 这个区域暂时没有可用的 GPU 容量（{azureCode}）。请过一会儿再试，或联系管理员换尺寸或区域。',
    'vm.azure_error.throttled': 'Azure 暂时限制了请求频率（429），{vm} 的操作没有完成。请 {retryAfter} 秒后再试。',
    'vm.azure_error.conflict': '虚拟机 {vm} 正在进行另一个操作（{azureCode}），请等它结束后再试。',
    'vm.azure_error.credential_unavailable':
      '机器人拿不到 Azure 凭据，无法操作 {vm}。请设置 AZURE_TENANT_ID、AZURE_CLIENT_ID、AZURE_CLIENT_SECRET（服务主体），或给机器人所在的机器配置托管标识，或在那台机器上 `az login`。',
    'vm.azure_error.operation_failed': 'Azure 报告虚拟机 {vm} 的操作失败（{azureCode}）。请在 Azure 门户查看活动日志。',
    'vm.azure_error.unknown': '操作虚拟机 {vm} 时 Azure 出错了（{azureCode}）。请稍后重试，或在 Azure 门户查看活动日志。',
  },
  en: {
    'vm.help':
      '`/vm list` lists every VM\n`/vm start <VM>` starts one\n`/vm stop <VM>` deallocates it (billing stops; an admin must confirm while a run is active)\n`/vm status <VM>` shows power state and GPU use',
    'vm.error.unknown_action': 'There is no “{word}” subcommand. {hint}Valid: list, start, stop, status.',
    'vm.error.missing_vm': 'Name a VM, for example `/vm {action} {first}`. VMs: {valid}.',
    'vm.error.extra_words': 'Unexpected “{word}”. Usage: `/vm {action} <VM>`.',

    'vm.power.running': 'running',
    'vm.power.starting': 'starting',
    'vm.power.stopping': 'stopping',
    'vm.power.stopped': 'stopped (still billed)',
    'vm.power.deallocating': 'deallocating',
    'vm.power.deallocated': 'deallocated (not billed)',
    'vm.power.unknown': 'unknown state',
    'vm.power.always_on': 'always on (no Azure config)',
    'vm.power.error': 'could not be read',

    'vm.list.title': 'VMs',
    'vm.list.line': '*{vm}* · {power} · {gpus} GPU{model} · {run} · {idle} · auto-stop: {policy}',
    'vm.list.run': 'run #{id} {recipe} ({status})',
    'vm.list.runs_more': '{count} more',
    'vm.list.no_run': 'no run',
    'vm.list.idle': 'idle for {duration}',
    'vm.list.idle_unknown': 'idle time unknown',
    'vm.list.busy': 'in use',
    'vm.list.policy_off': 'off',
    'vm.list.policy_on': 'warn after {idle} idle minutes, deallocate {grace} minutes later',
    'vm.list.policy_unmanaged': 'n/a',

    'vm.start.not_managed': '{vm} has no Azure config (`vms.{vm}.azure`), so the bot cannot start it and treats it as always on.',
    'vm.start.already_running': '{vm} is already running.',
    'vm.start.starting': 'Starting VM {vm}…',
    'vm.start.waiting': '{vm} is {power}; waiting for that to finish before starting…',
    'vm.start.done': 'VM {vm} started in {duration}.',

    'vm.stop.not_managed': '{vm} has no Azure config (`vms.{vm}.azure`), so the bot cannot deallocate it.',
    'vm.stop.denied': 'Only the owner of {vm} or an admin may deallocate it: {who}.',
    'vm.stop.already': '{vm} is {power} already; nothing to deallocate.',
    'vm.stop.active_runs': '{vm} still has active runs: {runs}. Deallocating would interrupt them, so nothing was done.',
    'vm.stop.active_runs_admin': '{vm} still has active runs: {runs}. As an admin you can force the deallocation after confirming (the runs are interrupted; `/restart` resumes them from a checkpoint).',
    'vm.stop.force_button': 'Force deallocate {vm}',
    'vm.stop.confirm_title': 'Force deallocation?',
    'vm.stop.confirm_text': 'The runs on {vm} will be interrupted. Deallocate it?',
    'vm.stop.confirm_yes': 'Deallocate',
    'vm.stop.confirm_no': 'Cancel',
    'vm.stop.deallocating': 'Deallocating VM {vm} (billing stops once it is deallocated)…',
    'vm.stop.done': 'VM {vm} deallocated in {duration}. Saved {hours} hours this week{cost}.',
    'vm.stop.stale_button': 'This button has expired because {vm} changed; run `/vm stop {vm}` again.',

    'vm.status.title': '{vm} · {power}',
    'vm.status.not_running': 'The VM is not running, so GPU use cannot be read. Start it with `/vm start {vm}`.',
    'vm.status.gpu': '*GPU {index}* {name}: memory {used}/{total} MiB, utilization {utilization}',
    'vm.status.process': '    • {user} · pid {pid} · {name} · {memory} MiB',
    'vm.status.gpu_idle': '    no process is using this GPU',
    'vm.status.no_nvidia_smi': '{vm} has no nvidia-smi (no NVIDIA driver, or not a GPU machine).',
    'vm.status.probe_failed': 'Reading GPU use on {vm} failed: {reason}',
    'vm.status.unreachable': 'Cannot reach {vm}: {reason}',
    'vm.status.sessions': 'Login sessions: {sessions}',
    'vm.status.no_sessions': 'No login sessions',
    'vm.status.unknown_user': 'unknown user',
    'vm.status.na': 'n/a',

    'vm.autostop.warning':
      '⏳ VM *{vm}* has been idle for {idle} (no run, deployment or login session) and will be deallocated at {deadline} to stop billing. Press “Keep running” if you still need it.',
    'vm.autostop.keep_button': 'Keep running',
    'vm.autostop.kept': '✅ <@{user}> kept *{vm}* running; the idle timer starts again.',
    'vm.autostop.kept_ephemeral': 'OK, {vm} keeps running; you will be warned again after {idle} idle minutes.',
    'vm.autostop.stale': 'This warning was already handled; {vm} will not be deallocated because of it.',
    'vm.autostop.cancelled_busy': '✅ *{vm}* is in use again; this auto-stop is cancelled.',
    'vm.autostop.cancelled_power': '*{vm}* is no longer running ({power}); this auto-stop is cancelled.',
    'vm.autostop.deallocated': '💤 VM *{vm}* was deallocated after being idle for {idle}. Saved {hours} hours this week{cost}. Use `/vm start {vm}` or just submit a job, and the bot starts it first.',
    'vm.autostop.failed': '⚠️ Auto-stop of *{vm}* failed: {reason}',
    'vm.cost.saved': ' (about {amount})',

    'vm.run.deallocated_lost': 'VM {vm} was deallocated during the run (Azure state {power}), by a spot eviction or someone in the portal. Run #{id} is marked lost; `/restart #{id}` resumes it from the latest checkpoint.',

    'vm.azure_error.not_found':
      'Azure has no VM {vm} (subscription {subscription}, resource group {resourceGroup}, name {azureName}). Check `vms.{vm}.azure` in the config.',
    'vm.azure_error.authorization_failed':
      'The bot is not authorized to manage VM {vm}. Give its identity the “Virtual Machine Contributor” role on resource group {resourceGroup}.',
    'vm.azure_error.quota_exceeded':
      'Cannot start VM {vm}: subscription {subscription} is out of quota ({azureCode}). Request more GPU cores for the region under “Usage + quotas” in the portal, or deallocate another VM first.',
    'vm.azure_error.allocation_failed':
      'Cannot start VM {vm}: Azure has no free GPU capacity in the region right now ({azureCode}). Try again later, or ask an admin to change the size or region.',
    'vm.azure_error.throttled': 'Azure throttled the request (429), so the operation on {vm} did not finish. Try again in {retryAfter} seconds.',
    'vm.azure_error.conflict': 'VM {vm} is busy with another operation ({azureCode}); try again when it has finished.',
    'vm.azure_error.credential_unavailable':
      'The bot has no Azure credential, so it cannot manage {vm}. Set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET (a service principal), give the bot machine a managed identity, or run `az login` there.',
    'vm.azure_error.operation_failed': 'Azure reports that the operation on VM {vm} failed ({azureCode}). Check the activity log in the portal.',
    'vm.azure_error.unknown': 'Azure returned an error for VM {vm} ({azureCode}). Try again later, or check the activity log in the portal.',
  },
};
