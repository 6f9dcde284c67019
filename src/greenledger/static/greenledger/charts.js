// Every chart's default look, loaded right after ECharts by generic/_echarts.html: chart text in the
// page's Chinese font stack. A canvas only uses a web font it is told about by name, so without this a
// machine with no Chinese font of its own (a gate kiosk) would draw boxes instead of the shipped Noto
// Sans SC. A chart that names its own theme keeps it.
(function () {
  if (!window.echarts) return;
  var fonts = '"PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", "Source Han Sans SC", "Noto Sans SC", sans-serif';
  echarts.registerTheme("greenledger", { textStyle: { fontFamily: fonts } });
  var init = echarts.init;
  echarts.init = function (element, theme, options) {
    return init.call(echarts, element, theme || "greenledger", options);
  };
})();
